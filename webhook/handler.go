package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/openrunner/openrunner"
)

// DefaultMaxBody is the default limit on a delivery's body: GitHub caps
// webhook payloads at 25 MB ("Webhook events and payloads"), and Bitbucket
// Cloud's are smaller.
const DefaultMaxBody = 25 << 20

// rememberDeliveries is how many recent delivery IDs a Handler remembers
// to answer redeliveries without delivering twice.
const rememberDeliveries = 1024

// Handler receives GitHub and Bitbucket Cloud webhook deliveries. Mount it
// under a path prefix with http.StripPrefix: the remaining path is
// "<provider>/<key>" (see URL), where provider is "github" or "bitbucket"
// and key is the opaque string the caller chose when registering the
// webhook (it may contain slashes).
//
// A delivery is answered:
//   - 405 unless it is a POST;
//   - 404 for an unknown provider, or a key that Resolve does not know
//     (an error whose openrunner.ErrorCode is ENOTFOUND);
//   - 413 when the body exceeds MaxBody;
//   - 401 when it is unsigned or its signature does not match the key's
//     secret (GitHub X-Hub-Signature-256, Bitbucket X-Hub-Signature, both
//     "sha256=" + hex HMAC-SHA256 of the raw body); Deliver is not called;
//   - 200 for a GitHub ping, and for a push, once Deliver accepted every
//     branch update it carries; 200 without calling Deliver again for a
//     delivery ID it already delivered (a redelivery);
//   - 202 for events and pushes that concern no branch (tags, other
//     events), which are ignored;
//   - 400 for a payload it cannot read;
//   - 500 with a generic message when Resolve or Deliver fails; the
//     delivery is then forgotten, so a redelivery tries again.
//
// Handler never logs secrets, signatures or payloads. A Handler must not be
// copied after first use.
type Handler struct {
	// Resolve returns the webhook secret of a key. It returns an error
	// with code ENOTFOUND for a key it does not know. An empty secret
	// rejects every delivery: deliveries must be signed.
	Resolve func(ctx context.Context, key string) (secret []byte, err error)

	// Deliver receives each verified branch update, once per delivery ID
	// (GitHub and Bitbucket retry nothing by themselves, but people
	// redeliver). It should be quick (GitHub gives a receiver 10 seconds)
	// and idempotent: a Bitbucket delivery carrying several branch updates
	// is delivered again in full if one of them fails. Its ctx is the
	// request's.
	Deliver func(ctx context.Context, key string, p Push) error

	// Logger receives one line per delivery. Default: discard.
	Logger *slog.Logger

	// MaxBody bounds a delivery's body in bytes. Default: DefaultMaxBody.
	MaxBody int64

	log deliveryLog
}

// URL returns the delivery URL of a webhook: base (the URL the Handler is
// mounted at, with or without a final slash), the provider ("github" or
// "bitbucket") and the key, each of its slash-separated segments
// path-escaped.
func URL(base, provider, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(provider) + "/" + strings.Join(segs, "/")
}

// Signature returns the signature header value GitHub and Bitbucket send
// for body under secret: "sha256=" + hex HMAC-SHA256.
func Signature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is a valid "sha256=<hex>"
// signature of body under secret. It compares in constant time, and is
// false for an empty secret.
func VerifySignature(secret, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(secret) == 0 || len(hexSig) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// reply is the answer to a delivery and what to log about it.
type reply struct {
	status int
	msg    string // plain text sent to the provider
	err    error  // internal cause, logged only
}

// delivery describes a request for the log line.
type delivery struct {
	provider, key, event, id string
	pushes                   []Push
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d delivery
	rep := h.serve(w, r, &d)
	if rep.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.msg+"\n")
	h.logDelivery(r.Context(), &d, rep)
}

func (h *Handler) logDelivery(ctx context.Context, d *delivery, rep reply) {
	logger := h.Logger
	if logger == nil {
		return
	}
	// The key, event and delivery ID come from the request before it is
	// authenticated: bound them.
	attrs := []slog.Attr{
		slog.String("provider", d.provider), slog.String("key", openrunner.Truncate(d.key, 200)),
		slog.String("event", openrunner.Truncate(d.event, 64)), slog.String("delivery", openrunner.Truncate(d.id, 64)),
		slog.Int("status", rep.status),
	}
	for i, p := range d.pushes {
		if i == 4 {
			attrs = append(attrs, slog.Int("more_pushes", len(d.pushes)-i))
			break
		}
		attrs = append(attrs, slog.Group("push", "repository", p.Repository, "branch", p.Branch,
			"after", p.After, "deleted", p.Deleted))
	}
	level := slog.LevelInfo
	switch {
	case rep.status >= 500:
		level = slog.LevelError
	case rep.status >= 400:
		level = slog.LevelWarn
	}
	if rep.err != nil {
		attrs = append(attrs, slog.String("err", rep.err.Error()))
	}
	logger.LogAttrs(ctx, level, "webhook delivery", attrs...)
}

// Answers. The texts are short and never say more than the status.
var (
	replyUnknown   = reply{status: http.StatusNotFound, msg: "Unknown webhook."}
	replyBadSig    = reply{status: http.StatusUnauthorized, msg: "Invalid or missing signature."}
	replyTooLarge  = reply{status: http.StatusRequestEntityTooLarge, msg: "Payload too large."}
	replyMalformed = reply{status: http.StatusBadRequest, msg: "Malformed payload."}
	replyInternal  = reply{status: http.StatusInternalServerError, msg: "Internal error."}
	replyIgnored   = reply{status: http.StatusAccepted, msg: "Event ignored."}
	replyDelivered = reply{status: http.StatusOK, msg: "OK."}
	replyDuplicate = reply{status: http.StatusOK, msg: "Already delivered."}
)

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, d *delivery) reply {
	if r.Method != http.MethodPost {
		return reply{status: http.StatusMethodNotAllowed, msg: "Method not allowed."}
	}
	provider, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if (provider != GitHub && provider != Bitbucket) || key == "" {
		return replyUnknown
	}
	d.provider, d.key = provider, key
	if provider == GitHub {
		d.event, d.id = r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	} else {
		d.event, d.id = r.Header.Get("X-Event-Key"), r.Header.Get("X-Request-UUID")
	}
	if h.Resolve == nil || h.Deliver == nil {
		return reply{status: http.StatusInternalServerError, msg: replyInternal.msg, err: errors.New("webhook.Handler without Resolve or Deliver")}
	}

	// Reject what is plainly too large before resolving or reading.
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return replyTooLarge
	}
	secret, err := h.Resolve(r.Context(), key)
	switch {
	case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		return replyUnknown
	case err != nil:
		return reply{status: replyInternal.status, msg: replyInternal.msg, err: err}
	case len(secret) == 0:
		return reply{status: replyBadSig.status, msg: replyBadSig.msg, err: errors.New("the webhook has no secret")}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return replyTooLarge
		}
		return reply{status: http.StatusBadRequest, msg: "Could not read the body.", err: err}
	}
	sigHeader := "X-Hub-Signature-256"
	if provider == Bitbucket {
		// Bitbucket names its SHA-256 signature X-Hub-Signature, the name
		// GitHub uses for its legacy SHA-1 one (ignored here).
		sigHeader = "X-Hub-Signature"
	}
	if !VerifySignature(secret, body, r.Header.Get(sigHeader)) {
		return replyBadSig
	}

	var pushes []Push
	if provider == GitHub {
		switch d.event {
		case "ping":
			return reply{status: http.StatusOK, msg: "Pong."}
		case "push":
		default:
			return replyIgnored
		}
		payload, err := githubPayload(r.Header.Get("Content-Type"), body)
		if err != nil {
			return reply{status: replyMalformed.status, msg: replyMalformed.msg, err: err}
		}
		p, ok, err := parseGitHubPush(payload)
		if err != nil {
			return reply{status: replyMalformed.status, msg: replyMalformed.msg, err: err}
		}
		if ok {
			pushes = []Push{p}
		}
	} else {
		if d.event != "repo:push" {
			return replyIgnored
		}
		pushes, err = parseBitbucketPush(body)
		if err != nil {
			return reply{status: replyMalformed.status, msg: replyMalformed.msg, err: err}
		}
	}
	if len(pushes) == 0 {
		return replyIgnored
	}
	for i := range pushes {
		pushes[i].DeliveryID = d.id
	}
	d.pushes = pushes
	return h.deliver(r.Context(), provider, key, d.id, pushes)
}

// githubPayload returns the JSON payload of a GitHub delivery: the body
// for content type json, the "payload" form field for form.
func githubPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return nil, errors.New("form body without a payload field")
	}
	return []byte(form.Get("payload")), nil
}

// deliver hands pushes to Deliver unless the delivery was already
// delivered, and waits for a concurrent attempt with the same ID.
func (h *Handler) deliver(ctx context.Context, provider, key, id string, pushes []Push) reply {
	if id == "" {
		// Nothing to de-duplicate on.
		return h.deliverAll(ctx, key, pushes)
	}
	lk := provider + "\x00" + key + "\x00" + id
	for {
		e, mine := h.log.claim(lk)
		if mine {
			ok := false
			// Deferred so that a panicking Deliver does not leave the
			// delivery in flight forever.
			defer func() { h.log.finish(lk, e, ok) }()
			rep := h.deliverAll(ctx, key, pushes)
			ok = rep.status == http.StatusOK
			return rep
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return reply{status: http.StatusServiceUnavailable, msg: "Try again.", err: ctx.Err()}
		}
		if e.ok {
			return replyDuplicate
		}
		// The other attempt failed and was forgotten: try again.
	}
}

func (h *Handler) deliverAll(ctx context.Context, key string, pushes []Push) reply {
	for _, p := range pushes {
		if err := h.Deliver(ctx, key, p); err != nil {
			return reply{status: replyInternal.status, msg: replyInternal.msg, err: err}
		}
	}
	return replyDelivered
}

// deliveryLog remembers the last rememberDeliveries delivery IDs, in
// arrival order. The zero value is ready to use.
type deliveryLog struct {
	mu      sync.Mutex
	entries map[string]*logEntry
	ring    []*logEntry // FIFO of the remembered entries
	next    int
}

type logEntry struct {
	key  string
	done chan struct{} // closed when the attempt finished
	ok   bool          // set before done is closed
}

// claim returns the entry for key, and whether the caller created it and
// must deliver (then call finish).
func (l *deliveryLog) claim(key string) (*logEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		return e, false
	}
	if l.entries == nil {
		l.entries = make(map[string]*logEntry)
		l.ring = make([]*logEntry, rememberDeliveries)
	}
	e := &logEntry{key: key, done: make(chan struct{})}
	if old := l.ring[l.next]; old != nil && l.entries[old.key] == old {
		delete(l.entries, old.key)
	}
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	l.entries[key] = e
	return e, true
}

// finish records the outcome of e; a failed delivery is forgotten so that
// a redelivery tries again.
func (l *deliveryLog) finish(key string, e *logEntry, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ok = ok
	if !ok && l.entries[key] == e {
		delete(l.entries, key)
	}
	close(e.done)
}

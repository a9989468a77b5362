package router

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// The router relays every request that does not ask for a protocol switch
// itself (proxyHTTP), and leaves upgrades (WebSocket) to
// httputil.ReverseProxy. Owning the common path saves what ReverseProxy
// spends on work the router does not need: a deep copy of the request's
// headers and a second one of the response's, the media-type parse that
// picks its flush interval, and a timer per response for that interval.
// The outgoing request shares the client's header values (slices are
// replaced, never written to), and the response's headers go to the client
// as the instance sent them, minus the hop-by-hop ones.

// hopHeaders are the hop-by-hop headers (RFC 9110 §7.6.1), which a proxy
// does not forward, in canonical form.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// isHopHeader reports whether the canonical header key k is hop-by-hop.
func isHopHeader(k string) bool {
	for _, h := range hopHeaders {
		if k == h {
			return true
		}
	}
	return false
}

// connectionTokens returns the header names that the Connection header h
// lists (they are hop-by-hop too), canonicalized; nil when there are none,
// which is the common case and allocates nothing.
func connectionTokens(h http.Header) []string {
	var out []string
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = textproto.TrimString(tok); tok != "" {
				out = append(out, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return out
}

// copyEndToEnd copies the end-to-end headers of src into dst, sharing the
// value slices.
func copyEndToEnd(dst, src http.Header) {
	conn := connectionTokens(src)
	for k, vv := range src {
		if isHopHeader(k) || (conn != nil && containsString(conn, k)) {
			continue
		}
		dst[k] = vv
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// outgoing builds the request to the instance from the client's: the same
// method, path, query, Host and end-to-end headers, with X-Forwarded-*
// set. Its URL's scheme and host are set by roundTrip.
func (r *Router) outgoing(req *http.Request, st *reqState) *http.Request {
	out := req.WithContext(st)
	out.RequestURI = ""
	out.Close = false
	u := *req.URL
	if u.RawQuery != "" {
		u.RawQuery = cleanQuery(u.RawQuery)
	}
	out.URL = &u
	if req.ContentLength == 0 {
		out.Body = nil // lets the transport retry an idle connection that failed
	}
	extra := 4 // X-Forwarded-For, -Host, -Proto, User-Agent
	if st.span != nil {
		extra += 3 // traceparent, tracestate, X-Amzn-Trace-Id: no map growth
	}
	h := make(http.Header, len(req.Header)+extra)
	copyEndToEnd(h, req.Header)
	if teTrailers(req.Header["Te"]) {
		h["Te"] = []string{"trailers"}
	}
	r.setForwarded(h, req)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = emptyValue // no Go default User-Agent
	}
	out.Header = h
	return out
}

// emptyValue is a header value list holding the empty string. It is shared:
// nothing writes to header value slices.
var emptyValue = []string{""}

// setForwarded sets the X-Forwarded-* headers of the outgoing headers h:
// the client's address appended to any X-Forwarded-For it sent, and its
// Host and scheme unless the router trusts the ones the client sent.
func (r *Router) setForwarded(h http.Header, req *http.Request) {
	delete(h, "Forwarded")
	if ip, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		if prior := req.Header["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h["X-Forwarded-For"] = []string{ip}
	} else {
		delete(h, "X-Forwarded-For")
	}
	if v := req.Header["X-Forwarded-Host"]; !r.trustForwarded || len(v) == 0 {
		h["X-Forwarded-Host"] = []string{req.Host}
	}
	if v := req.Header["X-Forwarded-Proto"]; !r.trustForwarded || len(v) == 0 {
		if req.TLS == nil {
			h["X-Forwarded-Proto"] = protoHTTP
		} else {
			h["X-Forwarded-Proto"] = protoHTTPS
		}
	}
}

var protoHTTP, protoHTTPS = []string{"http"}, []string{"https"}

// teTrailers reports whether a TE header says the client accepts trailers.
func teTrailers(te []string) bool {
	for _, v := range te {
		for tok := range strings.SplitSeq(v, ",") {
			tok, _, _ = strings.Cut(tok, ";")
			if strings.EqualFold(textproto.TrimString(tok), "trailers") {
				return true
			}
		}
	}
	return false
}

// cleanQuery is what ReverseProxy does to a query: one with semicolons or
// bad escapes is parsed and re-encoded (dropping what Go's server would not
// accept), so the instance sees the query Go's server parsed.
func cleanQuery(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			v, _ := url.ParseQuery(s)
			return v.Encode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				v, _ := url.ParseQuery(s)
				return v.Encode()
			}
			i += 2
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// proxyHTTP relays req to the instance st holds and its response back, for
// a request that does not ask to switch protocols.
func (r *Router) proxyHTTP(w http.ResponseWriter, req *http.Request, st *reqState) {
	out := r.outgoing(req, st)
	res, err := r.roundTrip(out)
	if err != nil {
		r.proxyError(w, out, err)
		return
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		// Not asked for: an instance may not switch protocols unasked
		// (RFC 9110 §15.2.2).
		r.proxyError(w, out, errors.New("router: instance switched protocols unasked"))
		return
	}
	st.status = res.StatusCode
	h := w.Header()
	copyEndToEnd(h, res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(res.StatusCode)
	if err := copyBody(w, res); err != nil {
		if req.Context().Value(http.ServerContextKey) == nil {
			return // not under net/http's server: nothing to abort
		}
		// The response is cut short: make the client see it as such.
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now, to read the trailers
	if len(res.Trailer) == 0 {
		return
	}
	if len(res.Trailer) == announced {
		copyEndToEnd(h, res.Trailer)
		return
	}
	http.NewResponseController(w).Flush()
	for k, vv := range res.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// copyBody relays the response body, flushing every chunk to the client as
// soon as it arrives except the one that completes a body of known length
// (the end of the handler sends that), so a streamed or trickling response
// reaches the client without delay and a small one costs one write.
func copyBody(w http.ResponseWriter, res *http.Response) error {
	if res.Body == http.NoBody {
		return nil
	}
	buf := buffers.Get().(*[bufferSize]byte)
	defer buffers.Put(buf)
	var rc *http.ResponseController // made on the first flush
	var written int64
	for {
		n, rerr := res.Body.Read(buf[:])
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			written += int64(n)
			if rerr == nil && written != res.ContentLength {
				if rc == nil {
					rc = http.NewResponseController(w)
				}
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Lines the Logs tab shows of each log (the newest), and that one poll
// returns at most.
const (
	logTail = 1000
	logPage = 1000
)

// logsTab is the Logs tab: the service's event log (all of it, or one
// operation's lines) and its application output.
type logsTab struct {
	Service, App         []logLine
	ServiceNext, AppNext string // cursors to follow from
	Operations           []operationOption
	Operation            string // the chosen operation's id; "" for all
	Follow               bool   // whether the page follows new lines
}

// logLine is one line as the page shows it.
type logLine struct {
	Time  string `json:"time"`  // RFC 3339, UTC
	Clock string `json:"clock"` // 15:04:05
	Label string `json:"label"` // the stream, shortened
	Text  string `json:"text"`
	Kind  string `json:"kind"` // "event", "build" or ""
}

// operationOption is an operation offered by the Logs tab's picker.
type operationOption struct {
	ID, Label string
	Selected  bool
	from, to  time.Time
}

func toLine(e openrunner.LogEntry) logLine {
	l := logLine{Time: e.Time.UTC().Format(time.RFC3339Nano), Clock: e.Time.UTC().Format("15:04:05"), Text: e.Text}
	switch stream, id, _ := strings.Cut(e.Stream, "/"); {
	case stream == "deployment" && len(id) >= 8:
		l.Label = "deployment " + id[:8]
	case stream == "instance" && len(id) >= 8:
		l.Label = "instance " + id[:8]
	default:
		l.Label = e.Stream
	}
	switch {
	case strings.HasPrefix(e.Text, "[AppRunner]"):
		l.Kind = "event"
	case strings.HasPrefix(e.Text, "[Build]"):
		l.Kind = "build"
	}
	return l
}

// logsTab reads both logs for the Logs tab. With an operation id it shows
// that operation's deployment lines and the event lines written while it
// ran, and does not follow.
func (c *Console) logsTab(ctx context.Context, arn, operation string) (*logsTab, error) {
	if c.cfg.Logs == nil {
		return nil, errNoServices
	}
	ops, err := c.operations(ctx, arn)
	if err != nil {
		return nil, err
	}
	t := &logsTab{Follow: operation == ""}
	var chosen *operationOption
	for _, op := range ops {
		o := operationOption{ID: wire.Deref(op.Id), Selected: wire.Deref(op.Id) == operation}
		if op.StartedAt != nil {
			o.from = op.StartedAt.Time
			o.Label = string(wire.Deref(op.Type)) + " · " + o.from.UTC().Format("Jan 2 15:04:05") + " · " + string(wire.Deref(op.Status))
		}
		if op.EndedAt != nil {
			o.to = op.EndedAt.Time
		}
		t.Operations = append(t.Operations, o)
		if o.Selected {
			chosen = &t.Operations[len(t.Operations)-1]
		}
	}
	if chosen != nil {
		t.Operation = chosen.ID
	}
	var since time.Time
	if chosen != nil {
		since = chosen.from.Add(-time.Second)
	}
	lines, next, err := c.readLog(ctx, arn, false, since)
	if err != nil {
		return nil, err
	}
	for _, e := range lines {
		if chosen == nil || inOperation(e, *chosen) {
			t.Service = append(t.Service, toLine(e))
		}
	}
	t.ServiceNext = next
	app, next, err := c.readLog(ctx, arn, true, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, e := range app {
		t.App = append(t.App, toLine(e))
	}
	t.AppNext = next
	return t, nil
}

// inOperation reports whether a service log line belongs to an operation:
// a line of its deployment stream, or an event line written while it ran.
func inOperation(e openrunner.LogEntry, op operationOption) bool {
	if e.Stream == "deployment/"+op.ID {
		return true
	}
	if strings.HasPrefix(e.Stream, "deployment/") || e.Time.Before(op.from.Add(-time.Second)) {
		return false
	}
	return op.to.IsZero() || !e.Time.After(op.to.Add(time.Second))
}

// readLog reads the newest logTail lines of a log, or with since the
// first ones from then on, and the cursor that follows them.
func (c *Console) readLog(ctx context.Context, arn string, application bool, since time.Time) ([]openrunner.LogEntry, string, error) {
	q := openrunner.LogQuery{ServiceARN: arn, Application: application, Limit: logTail, Since: since, Tail: since.IsZero()}
	page, err := c.cfg.Logs.ReadLogs(ctx, q)
	if err != nil {
		return nil, "", err
	}
	return page.Lines, page.Next, nil
}

// logsPoll is the answer of pathServiceLogs.
type logsPoll struct {
	Lines  []logLine `json:"lines"`
	Next   string    `json:"next"`
	Status string    `json:"status"`
}

// handleServiceLogs answers the Logs tab's script with the lines written
// after a cursor and the service's status, as JSON.
func (c *Console) handleServiceLogs(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	q := r.URL.Query()
	arn := q.Get("arn")
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": c.storeError(r, "following logs", err)})
	}
	svc, err := c.describe(ctx, arn) // checks the Scope, as GetServiceLogs does
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	if c.cfg.Logs == nil {
		fail(http.StatusBadRequest, errNoServices)
		return
	}
	page, err := c.cfg.Logs.ReadLogs(ctx, openrunner.LogQuery{ServiceARN: arn, Application: q.Get("log") == "application",
		After: q.Get("after"), Limit: logPage})
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	out := logsPoll{Lines: make([]logLine, 0, len(page.Lines)), Next: page.Next, Status: string(wire.Deref(svc.Status))}
	for _, e := range page.Lines {
		out.Lines = append(out.Lines, toLine(e))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

package openrunner

import (
	"context"
	"time"
)

// LogQuery selects lines of one of a service's two logs.
type LogQuery struct {
	ServiceARN string
	// Application selects the application log (the instances' output);
	// otherwise the service log ([AppRunner] event lines).
	Application bool
	// Since, if set, skips lines written before it.
	Since time.Time
	// After continues after the lines a previous read returned (its
	// Next); "" starts at the oldest line kept.
	After string
	// Limit bounds the lines returned; 0 means the store's default.
	Limit int
	// Tail returns the newest Limit lines (after After) instead of the
	// oldest; Next still continues after the newest line.
	Tail bool
}

// LogPage is one read of a service log.
type LogPage struct {
	// Group is the log group's name, as CloudWatch names App Runner's:
	// /aws/apprunner/<service name>/<service id>/service or application.
	Group string
	Lines []LogEntry
	// Next continues after these lines, also when there are none, so a
	// reader can poll with it.
	Next string
}

// LogEntry is one line of a service log.
type LogEntry struct {
	Time   time.Time
	Stream string // "events", "deployment/<operation id>", "instance/<id>"
	Text   string
}

// LogService reads the service and application logs.
type LogService interface {
	// ReadLogs returns the lines q selects. Returns EINVALID for a bad
	// query or After.
	ReadLogs(ctx context.Context, q LogQuery) (LogPage, error)
}

// Package logs stores the logs of OpenRunner's services on the local file
// system, bounded in size and age, as App Runner's two log groups per
// service: service events and application output.
//
// # Groups and streams
//
// Each service has two groups, as in App Runner's CloudWatch Logs
// (/aws/apprunner/<name>/<id>/<group>, see [LogGroupName]):
//
//   - [GroupService]: "[AppRunner] ..." lines. Stream [StreamEvents] is the
//     service's lifecycle; each operation also writes its steps to its own
//     stream, [DeploymentStream](operationID). The functions and constants
//     of events.go ([OperationStarted], [DeploymentStarted],
//     [HealthCheckFailed], ...) produce App Runner's exact wording, so the
//     deployer never spells a line itself.
//   - [GroupApplication]: what instances write to stdout and stderr, one
//     stream per instance, [InstanceStream](instanceID).
//     [Store.ApplicationSink] plugs into openrunner.Runtime.FollowLogs.
//
// Entry texts are stored as given. Callers must never log secrets (secret
// environment variables, tokens, credentials): whoever may read a
// service's logs reads them, through the API and the console.
//
// # Reading
//
// [Store.Read] returns a group's entries in append order, optionally of one
// stream or since a time, a page at a time: each call returns a [Cursor]
// to continue from, an opaque string fit to hand to clients as a
// NextToken. Query.Tail reads the end of the log instead. [Store.Follow]
// streams existing entries and then new ones as they are appended, until
// its context ends; an Append wakes followers at once (no polling).
//
// # Files
//
// A Store owns one directory; no other Store or process may write to it.
// Each service has a directory named after a hash of its ARN:
//
//	<dir>/<sha256(arn)[:16] in hex>/meta.json          {"arn": ..., "epoch": ...}
//	<dir>/<...>/service/00000000000000000000.log       segments, named by their first Seq
//	<dir>/<...>/application/00000000000000004096.log
//
// A segment is JSON lines, one entry per line, readable with jq:
//
//	{"seq":7,"time":"2026-01-02T03:04:05.123456789Z","stream":"events","text":"[AppRunner] Service creation started."}
//
// Seq numbers a group's entries from 0 in append order. Each group appends
// to its last segment and begins a new one at Options.SegmentBytes.
//
// # Durability
//
// Append buffers entries in memory (readers see them at once: a read
// writes the buffer out first) and writes them within
// Options.FlushInterval (200 ms), when 64 KiB are buffered, and on Close,
// which also syncs the files to disk. So a process killed with -9 loses at
// most the last 200 ms of lines; a power failure may lose what the
// operating system had not written yet. A write that a crash cut short
// leaves a torn last line: readers skip it, and opening the service cuts it
// off. Other damaged lines are skipped too; they never end a read. If the
// disk fails (full, read-only) the buffered entries are dropped and logged,
// so that memory stays bounded, and later entries are written when it
// recovers.
//
// # Retention
//
// Each service keeps at most Options.MaxBytesPerService (16 MiB) on disk:
// an Append that goes beyond it drops whole segments, oldest first, from
// whichever group is larger, so a chatty application cannot push out the
// service's events. Segments whose newest entry is older than
// Options.MaxAge (7 days) are dropped by [Store.Sweep], which runs every
// Options.SweepInterval. Lines longer than [MaxTextBytes] (64 KiB) are cut
// and end with a marker giving their length. [Store.DeleteService] removes
// a purged service's logs.
package logs

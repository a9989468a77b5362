package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify implements openrunner.Notifier with pg_notify: the message goes
// to every session listening on channel.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	_, err := db.pool.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// Listen implements openrunner.Notifier on a connection of its own, outside
// the pool, reconnecting with backoff (up to 5 s) after it is lost.
func (db *DB) Listen(ctx context.Context, channels []string, receive func(channel, payload string), connected func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channels, receive, connected)
		if ctx.Err() != nil {
			return
		}
		db.logger().Warn("postgres: notifications lost; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, channels []string, receive func(channel, payload string), connected func()) error {
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	if connected != nil {
		connected()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		receive(n.Channel, n.Payload)
	}
}

func (db *DB) logger() *slog.Logger {
	if db.Logger != nil {
		return db.Logger
	}
	return slog.New(slog.DiscardHandler)
}

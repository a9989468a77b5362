// Package sqlite implements OpenRunner's stores on an embedded SQLite
// database (the pure-Go modernc.org/sqlite driver) in WAL mode.
package sqlite

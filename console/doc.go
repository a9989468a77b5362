// Package console is OpenRunner's web console: server-rendered HTML pages,
// served under /console/, for signing in with an access key and running
// services: the services list, creating a service from an image or a
// repository, a service's page (header actions, Logs, Activity,
// Configuration and Metrics tabs), editing it, deleting it with a typed
// confirmation, auto scaling configurations, and source connections
// (create, delete, the provider OAuth handshake).
//
// Pages are html/template files embedded in the binary with one CSS file.
// Every change is an HTML form POST that carries a per-session CSRF token;
// it answers with a 303 redirect to a page (POST/redirect/GET), which shows
// the outcome as a one-time flash message, or, for a form with errors,
// with the form again and each error next to its field. The only script,
// static/console.js, follows the Logs tab live by polling; without it the
// tab shows the logs as of the page's load. Charts are SVG drawn on the
// server from the metrics history the daemon samples (metrics.History).
//
// The console runs the App Runner operations in-process through
// wire.AppRunner (the api package's Server): each form becomes the
// operation's wire input, is validated as the AWS JSON endpoint validates
// it, and is run by the same code, so the console and the API share every
// rule, default and message. It reads connections through the root
// package's ConnectionService and logs through its LogService, in the Scope
// of the signed-in account and the Region chosen in the header.
package console

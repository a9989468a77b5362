// Package console is OpenRunner's web console: server-rendered HTML pages,
// served under /console/, for signing in with an access key and managing
// source connections (create, delete, and the provider OAuth handshake).
//
// Pages are html/template files embedded in the binary with one CSS file;
// there is no JavaScript. Every change is an HTML form POST that carries a
// per-session CSRF token and answers with a 303 redirect to a page
// (POST/redirect/GET), which shows the outcome as a one-time flash message.
//
// The console calls the root package's interfaces (ConnectionService,
// HandshakeService) in the Scope of the signed-in account and the Region
// chosen in the header, so it sees exactly what the API sees, and it
// applies the API's validation and messages (package wire) to its forms.
package console

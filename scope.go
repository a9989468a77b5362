package openrunner

import "context"

// Scope is the account and Region a request acts in. Every App Runner
// resource belongs to exactly one Scope, and no call ever sees a resource of
// another Scope.
type Scope struct {
	AccountID string
	Region    string
}

type scopeKey struct{}

// NewContextWithScope returns a copy of ctx carrying s.
func NewContextWithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFromContext returns the Scope stored in ctx, and whether there was one.
func ScopeFromContext(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok
}

// MustScope returns the Scope of ctx. Authenticated code paths always carry
// one; its absence is a programming error reported as EINTERNAL.
func MustScope(ctx context.Context) (Scope, error) {
	s, ok := ScopeFromContext(ctx)
	if !ok || s.AccountID == "" || s.Region == "" {
		return Scope{}, Errorf(EINTERNAL, "An internal error occurred.")
	}
	return s, nil
}

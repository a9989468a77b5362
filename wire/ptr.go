package wire

// Ptr returns a pointer to a copy of v, for filling the pointer members of
// the wire shapes: wire.Ptr("name"), wire.Ptr(wire.ProviderTypeGithub).
func Ptr[T any](v T) *T { return &v }

// Deref returns *p, or the zero value of T if p is nil.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

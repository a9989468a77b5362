package wire

import "sort"

// OperationInfo describes one operation of the API.
type OperationInfo struct {
	// Name is the operation's name, as in X-Amz-Target: AppRunner.<Name>.
	Name string
	// Errors are the short names of the exceptions the model lists for the
	// operation (e.g. "InvalidRequestException"), sorted.
	Errors []string
}

// LookupOperation returns the OperationInfo of the operation named name
// (case-sensitive) and reports whether there is one.
func LookupOperation(name string) (OperationInfo, bool) {
	i := sort.Search(len(Operations), func(i int) bool { return Operations[i].Name >= name })
	if i < len(Operations) && Operations[i].Name == name {
		return Operations[i], true
	}
	return OperationInfo{}, false
}

package api

import (
	"slices"
	"strconv"
)

// InstanceSize is a CPU and memory pair App Runner accepts, in its
// numeric units (CPU units, MB).
type InstanceSize struct{ CPU, Memory string }

// InstanceSizes returns every pair CreateService and UpdateService accept,
// smallest first, for pickers that offer only valid pairs.
func InstanceSizes() []InstanceSize {
	out := make([]InstanceSize, 0, len(validPairs))
	for p := range validPairs {
		out = append(out, InstanceSize{CPU: p[0], Memory: p[1]})
	}
	slices.SortFunc(out, func(a, b InstanceSize) int {
		if c := atoi(a.CPU) - atoi(b.CPU); c != 0 {
			return c
		}
		return atoi(a.Memory) - atoi(b.Memory)
	})
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

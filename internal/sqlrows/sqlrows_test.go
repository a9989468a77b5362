package sqlrows

import (
	"slices"
	"testing"
)

func TestPage(t *testing.T) {
	id := func(v int) int64 { return int64(v * 10) }
	for _, c := range []struct {
		items []int
		limit int
		want  []int
		next  int64
	}{
		{[]int{1, 2, 3}, 0, []int{1, 2, 3}, 0},
		{[]int{1, 2, 3}, 3, []int{1, 2, 3}, 0},
		{[]int{1, 2, 3}, 2, []int{1, 2}, 20},
		{nil, 2, nil, 0},
	} {
		got, next := Page(c.items, c.limit, id)
		if !slices.Equal(got, c.want) || next != c.next {
			t.Errorf("Page(%v, %d) = %v, %d; want %v, %d", c.items, c.limit, got, next, c.want, c.next)
		}
	}
}

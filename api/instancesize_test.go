package api

import (
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

func TestInstanceSizes(t *testing.T) {
	sizes := InstanceSizes()
	if len(sizes) != len(validPairs) || sizes[0] != (InstanceSize{"256", "512"}) || sizes[len(sizes)-1] != (InstanceSize{"4096", "12288"}) {
		t.Fatalf("sizes %v", sizes)
	}
	for _, sz := range sizes {
		if _, err := applyInstance(openrunner.InstanceConfig{}, &wire.InstanceConfiguration{Cpu: &sz.CPU, Memory: &sz.Memory}); err != nil {
			t.Errorf("%v refused: %v", sz, err)
		}
	}
}

package main

import (
	"fmt"
	"runtime"

	"github.com/openrunner/openrunner/daemon"
)

func runVersion(_ []string) error {
	fmt.Printf("openrunner %s (App Runner API 2020-05-15, %s %s/%s)\n", daemon.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

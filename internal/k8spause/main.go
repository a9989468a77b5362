// Command k8spause is the sandbox ("pause") image of the test cluster that
// scripts/start-kubernetes runs: it holds a Pod's namespaces open and exits
// on SIGTERM or SIGINT. Nothing can be pulled on the test machines, so the
// script builds this static binary and imports it into containerd.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}

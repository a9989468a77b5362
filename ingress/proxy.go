package ingress

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Proxy accepts TCP connections on ln and forwards each to target, until
// ctx ends. It is what a VPC ingress connection's container runs: the
// DomainName's port 80 on the VPC's network, forwarded to the router's
// private listener on the network's gateway.
func Proxy(ctx context.Context, ln net.Listener, target string) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			forward(ctx, c, target)
		}()
	}
}

// forward copies bytes both ways between c and a new connection to target,
// until both directions are done.
func forward(ctx context.Context, c net.Conn, target string) {
	defer c.Close()
	d := net.Dialer{Timeout: 10 * time.Second}
	up, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingress-proxy: %v\n", err)
		return
	}
	defer up.Close()
	// Connections end with the proxy.
	stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// Main is the hidden "openrunner ingress-proxy" command:
//
//	openrunner ingress-proxy --listen :80 --target 172.18.0.1:43127
//
// It runs until SIGTERM.
func Main(args []string) error {
	fs := flag.NewFlagSet("ingress-proxy", flag.ContinueOnError)
	listen := fs.String("listen", ":80", "address to accept connections on")
	target := fs.String("target", "", "host:port to forward them to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		return errors.New("ingress-proxy: --target is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Printf("ingress-proxy: forwarding %s to %s\n", ln.Addr(), *target)
	return Proxy(ctx, ln, *target)
}

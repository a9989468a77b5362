package main

import (
	"io"
	"testing"
)

func TestVPCNetworkFlag(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "OPENRUNNER_VPC_NETWORK": "subnet-a=db-net, vpc-1=private"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags([]string{"--vpc-network", "subnet-b=other", "--vpc-network", "subnet-a=flag-wins"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"subnet-a": "flag-wins", "vpc-1": "private", "subnet-b": "other"}
	if len(c.VPCNetworks) != len(want) {
		t.Fatalf("VPCNetworks = %v, want %v", c.VPCNetworks, want)
	}
	for k, v := range want {
		if c.VPCNetworks[k] != v {
			t.Fatalf("VPCNetworks = %v, want %v", c.VPCNetworks, want)
		}
	}
	for _, bad := range []string{"nonsense", "=net", "subnet-a=", "a b=c"} {
		if _, err := parseServeFlags([]string{"--vpc-network", bad}, getenv, io.Discard); err == nil {
			t.Errorf("--vpc-network %q: want an error", bad)
		}
	}
	env["OPENRUNNER_VPC_NETWORK"] = "bad"
	if _, err := parseServeFlags(nil, getenv, io.Discard); err == nil {
		t.Error("a malformed OPENRUNNER_VPC_NETWORK must fail")
	}
}

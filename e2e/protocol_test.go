package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/wire"
)

// rawCall sends a SigV4-signed AWS JSON 1.0 request and returns the status,
// headers and decoded body.
func rawCall(tb testing.TB, url, target string, body []byte) (int, http.Header, map[string]any) {
	tb.Helper()
	r, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			tb.Fatalf("response is not JSON: %q", raw)
		}
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		tb.Error("no x-amzn-RequestId")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		tb.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, resp.Header, m
}

func TestProtocol(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{MaxBodyBytes: 4096})
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

	for _, tc := range []struct {
		name, target, body string
		status             int
		typ, msg           string
	}{
		{"EmptyBodyIsEmptyInput", "AppRunner.ListConnections", "", 200, "", ""},
		{"UnknownOperation", "AppRunner.DescribeConnection", "{}", 400, "UnknownOperationException", ""},
		{"WrongPrefix", "Lambda.ListFunctions", "{}", 400, "UnknownOperationException", "AppRunner.<Operation>"},
		{"NoTarget", "", "{}", 400, "UnknownOperationException", ""},
		{"MalformedJSON", "AppRunner.ListConnections", `{"MaxResults":`, 400, "SerializationException", ""},
		{"NotAnObject", "AppRunner.ListConnections", `[1,2]`, 400, "SerializationException", ""},
		{"WrongType", "AppRunner.ListConnections", `{"MaxResults":"ten"}`, 400, "SerializationException", "MaxResults"},
		{"WrongNestedType", "AppRunner.CreateConnection", `{"ConnectionName":"abcd","ProviderType":"GITHUB","Tags":[{"Key":5}]}`, 400, "SerializationException", ""},
		{"TrailingData", "AppRunner.ListConnections", `{} {}`, 400, "SerializationException", ""},
		{"MissingRequired", "AppRunner.CreateConnection", `{"ConnectionName":"abcd"}`, 400, "InvalidRequestException", "Value null at 'providerType' failed to satisfy constraint: Member must not be null"},
		{"TwoViolations", "AppRunner.CreateConnection", `{"ConnectionName":"a","ProviderType":"X"}`, 400, "InvalidRequestException", "3 validation errors detected"},
		{"NullIsAbsent", "AppRunner.ListConnections", `{"ConnectionName":null,"NextToken":null}`, 200, "", ""},
		{"UnknownMemberIgnored", "AppRunner.ListConnections", `{"FutureMember":{"a":[1]}}`, 200, "", ""},
		{"TooLarge", "AppRunner.ListConnections", `{"ConnectionName":"` + strings.Repeat("a", 5000) + `"}`, 413, "SerializationException", "4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := rawCall(t, d.URL(), tc.target, []byte(tc.body))
			if !uuidRE.MatchString(h.Get("x-amzn-RequestId")) {
				t.Errorf("request id %q", h.Get("x-amzn-RequestId"))
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, body)
			}
			if tc.typ == "" {
				return
			}
			if got := h.Get("X-Amzn-Errortype"); got != tc.typ {
				t.Errorf("X-Amzn-Errortype %q, want %q", got, tc.typ)
			}
			if got, want := body["__type"], "com.amazonaws.apprunner#"+tc.typ; got != want {
				t.Errorf("__type %v, want %s", got, want)
			}
			msg, _ := body["Message"].(string)
			if msg == "" || !strings.Contains(msg, tc.msg) {
				t.Errorf("Message %q, want it to contain %q", msg, tc.msg)
			}
			if len(body) != 2 {
				t.Errorf("error body has extra members: %v", body)
			}
		})
	}

	t.Run("AllOperationsAnswer", func(t *testing.T) {
		// Every modeled operation is implemented: it runs or fails
		// validation; none is unknown, unimplemented or a server error.
		if len(wire.Operations) != 37 {
			t.Fatalf("%d operations, want 37", len(wire.Operations))
		}
		for _, op := range wire.Operations {
			status, h, _ := rawCall(t, d.URL(), "AppRunner."+op.Name, []byte(`{}`))
			if typ := h.Get("X-Amzn-Errortype"); typ == "UnknownOperationException" || typ == "SerializationException" || typ == "NotImplementedException" || status >= 500 {
				t.Errorf("%s: %d %s", op.Name, status, typ)
			}
		}
	})

	t.Run("Timestamps", func(t *testing.T) {
		_, _, body := rawCall(t, d.URL(), "AppRunner.CreateConnection", []byte(`{"ConnectionName":"stamp","ProviderType":"GITHUB"}`))
		ts, ok := body["Connection"].(map[string]any)["CreatedAt"].(float64)
		if !ok || ts < float64(time.Now().Add(-time.Minute).Unix()) || ts > float64(time.Now().Add(time.Minute).Unix()) {
			t.Fatalf("CreatedAt %v is not epoch seconds", body["Connection"])
		}
	})

	t.Run("NotPostSlash", func(t *testing.T) {
		resp, err := http.Get(d.URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
			t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	})

	t.Run("Health", func(t *testing.T) {
		resp, err := http.Get(d.URL() + "/_openrunner/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 || h["status"] != "ok" || h["store"] != "sqlite" {
			t.Fatalf("health: %d %v %v", resp.StatusCode, h, err)
		}
	})
}

// TestTooLargeBodySentWhole: a client that writes a whole 10 MB body
// before it reads anything (as Python's urllib does) gets the 413
// SerializationException, not a reset connection; so does one that sends
// no Content-Length (chunked).
func TestTooLargeBodySentWhole(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})
	body := bytes.Repeat([]byte("a"), 10<<20)
	for name, header := range map[string]string{
		"ContentLength": "Content-Length: " + strconv.Itoa(len(body)) + "\r\n",
		"Chunked":       "Transfer-Encoding: chunked\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", d.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
			w := bufio.NewWriter(conn)
			fmt.Fprintf(w, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AppRunner.ListConnections\r\n%s\r\n", d.Addr(), header)
			if name == "Chunked" {
				for off := 0; off < len(body); off += 64 << 10 {
					chunk := body[off:min(off+64<<10, len(body))]
					fmt.Fprintf(w, "%x\r\n", len(chunk))
					w.Write(chunk)
					w.WriteString("\r\n")
				}
				w.WriteString("0\r\n\r\n")
			} else {
				w.Write(body)
			}
			if err := w.Flush(); err != nil {
				t.Fatalf("writing the whole body: %v", err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the response after the whole body: %v", err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "SerializationException") {
				t.Fatalf("%d %s", res.StatusCode, b)
			}
		})
	}
}

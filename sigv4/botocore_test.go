package sigv4_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/openrunner/openrunner/sigv4"
)

// botocoreScript signs requests with botocore's SigV4Auth. For each case
// read from stdin it either sends the signed request with botocore's own
// HTTP session (send=true) and reports the response, or reports the signed
// headers and URL.
const botocoreScript = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session

cfg = json.load(sys.stdin)
creds = Credentials(cfg["akid"], cfg["secret"])
session = URLLib3Session()
out = []
for c in cfg["cases"]:
    req = AWSRequest(method=c["method"], url=cfg["endpoint"] + c["path"],
                     data=c["body"].encode(), headers=c["headers"], params=c["params"])
    SigV4Auth(creds, cfg["service"], cfg["region"]).add_auth(req)
    prepared = req.prepare()
    if c["send"]:
        resp = session.send(prepared)
        out.append({"status": resp.status_code, "body": resp.text})
    else:
        out.append({"url": prepared.url, "headers": dict(prepared.headers)})
json.dump(out, sys.stdout)
`

type botoCase struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Params  map[string]string `json:"params"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Send    bool              `json:"send"`
}

type botoResult struct {
	Status  int               `json:"status"`
	Body    string            `json:"body"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// runBotocore signs (and possibly sends) cases with botocore. It skips the
// test when python3 or botocore is missing, unless CI=true.
func runBotocore(t *testing.T, endpoint string, cases []botoCase) []botoResult {
	t.Helper()
	if err := exec.Command("python3", "-c", "import botocore.auth").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with botocore is required in CI: %v", err)
		}
		t.Skipf("python3 with botocore not available: %v", err)
	}
	in, err := json.Marshal(map[string]any{
		"akid": testAKID, "secret": testSecret, "service": testService, "region": testRegion,
		"endpoint": endpoint, "cases": cases,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-c", botocoreScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, stderr.String())
	}
	var results []botoResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("botocore output %q: %v", out, err)
	}
	return results
}

func TestVerifyBotocore(t *testing.T) {
	v := &sigv4.Verifier{Credentials: testCredentials(), Service: testService}
	var mu sync.Mutex
	var failures []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := v.Verify(r, body)
		if err != nil {
			mu.Lock()
			failures = append(failures, r.Method+" "+r.RequestURI+": "+err.Error())
			mu.Unlock()
			w.WriteHeader(err.(*sigv4.Error).Status)
			return
		}
		io.WriteString(w, id.AccessKeyID+" "+id.Region)
	}))
	defer srv.Close()

	apiHeaders := map[string]string{
		"Content-Type": "application/x-amz-json-1.0",
		"X-Amz-Target": testTarget,
	}
	cases := []botoCase{
		{Method: "POST", Path: "/", Headers: apiHeaders, Body: testJSON, Send: true},
		{Method: "POST", Path: "/", Headers: apiHeaders, Body: "", Send: true},
		{Method: "GET", Path: "/a%20b/~c/d%2Fe", Headers: map[string]string{}, Body: "", Send: true},
		{Method: "GET", Path: "/", Params: map[string]string{"b": "2", "a": "x y", "c": "é+/~", "d": ""}, Headers: map[string]string{}, Send: true},
		{Method: "POST", Path: "/x/", Headers: map[string]string{"X-Custom": "  a   b ", "X-Amz-Target": testTarget}, Body: testJSON, Send: true},
		// botocore signs with the HTTP Date header when the request has one.
		{Method: "POST", Path: "/", Headers: map[string]string{"Date": "placeholder", "X-Amz-Target": testTarget}, Body: testJSON, Send: true},
	}
	results := runBotocore(t, srv.URL, cases)
	for i, res := range results {
		if res.Status != http.StatusOK || res.Body != testAKID+" "+testRegion {
			t.Errorf("case %d (%s %s): status %d %q", i, cases[i].Method, cases[i].Path, res.Status, res.Body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, f := range failures {
		t.Error(f)
	}
}

// TestVerifyBotocoreNormalizedPath checks requests whose path botocore
// normalizes before signing, sent with the path as written (as the
// JavaScript SDK does).
func TestVerifyBotocoreNormalizedPath(t *testing.T) {
	v := &sigv4.Verifier{Credentials: testCredentials(), Service: testService}
	paths := []string{"/a/./b/../c", "/a//b///", "/../x", "/./", "//"}
	var cases []botoCase
	for _, p := range paths {
		cases = append(cases, botoCase{Method: "POST", Path: p, Headers: map[string]string{"X-Amz-Target": testTarget}, Body: testJSON})
	}
	results := runBotocore(t, "https://"+testHost, cases)
	for i, res := range results {
		r := httptest.NewRequest("POST", paths[i], strings.NewReader(testJSON))
		r.Host = testHost
		for k, val := range res.Headers {
			r.Header.Set(k, val)
		}
		if _, err := v.Verify(r, []byte(testJSON)); err != nil {
			t.Errorf("%s: %v", paths[i], err)
		}
	}
}

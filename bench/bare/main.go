// Command bare is the peer bench/api.sh measures the API against: a bare
// net/http handler answering every request with a fixed JSON body the size
// of a 10-connection ListConnections answer, no access log.
//
//	go run ./bench/bare -listen 127.0.0.1:8080
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	flag.Parse()
	var b bytes.Buffer
	b.WriteString(`{"ConnectionSummaryList":[`)
	for i := range 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ConnectionArn":"arn:aws:apprunner:us-east-1:000000000000:connection/seed-%d/0123456789abcdef0123456789abcdef","ConnectionName":"seed-%d","CreatedAt":1.7e9,"ProviderType":"GITHUB","Status":"PENDING_HANDSHAKE"}`, i, i)
	}
	b.WriteString(`]}`)
	body, size := b.Bytes(), strconv.Itoa(b.Len())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("Content-Length", size)
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

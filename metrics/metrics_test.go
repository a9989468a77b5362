package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/metrics"
)

func source(context.Context) ([]metrics.Service, error) {
	return []metrics.Service{{
		Name: "web", ARN: "arn:aws:apprunner:us-east-1:123456789012:service/web/0123",
		Active: 2, Desired: 4, Concurrency: 3.5,
		Responses: map[string]uint64{"2xx": 10, "4xx": 2, "5xx": 1}, Throttled: 2,
		Latency: metrics.Histogram{Buckets: map[float64]uint64{0.1: 8, 1: 13}, Count: 13, Sum: 2.5},
	}}, nil
}

func scrape(t *testing.T, h http.Handler, auth string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	code, body := scrape(t, metrics.NewHandler(source, metrics.Options{}), "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	l := `service_arn="arn:aws:apprunner:us-east-1:123456789012:service/web/0123",service_name="web"`
	for _, want := range []string{
		"openrunner_service_active_instances{" + l + "} 2",
		"openrunner_service_desired_instances{" + l + "} 4",
		"openrunner_service_concurrency{" + l + "} 3.5",
		`openrunner_service_requests_total{code_class="2xx",` + l + "} 10",
		`openrunner_service_requests_total{code_class="4xx",` + l + "} 2",
		`openrunner_service_requests_total{code_class="5xx",` + l + "} 1",
		"openrunner_service_throttled_requests_total{" + l + "} 2",
		"openrunner_service_request_duration_seconds_bucket{" + l + `,le="0.1"} 8`,
		"openrunner_service_request_duration_seconds_count{" + l + "} 13",
		"openrunner_service_request_duration_seconds_sum{" + l + "} 2.5",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}

func TestToken(t *testing.T) {
	h := metrics.NewHandler(source, metrics.Options{Token: "s3cret"})
	for auth, want := range map[string]int{"": 401, "Bearer nope": 401, "s3cret": 401, "Bearer s3cret": 200} {
		if code, body := scrape(t, h, auth); code != want {
			t.Errorf("Authorization %q: %d, want %d: %s", auth, code, want, body)
		} else if code == 401 && strings.Contains(body, "s3cret") {
			t.Errorf("the 401 shows the token")
		}
	}
}

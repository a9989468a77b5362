package router_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/openrunner/openrunner/router"
)

// Example shows a deployer's use of the router: route a service, redeploy
// it by routing the new revision's instance, draining the old one and only
// then stopping it, and give it a second host (a custom domain).
func Example() {
	rev1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "revision 1") }))
	rev2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "revision 2") }))
	defer rev2.Close()

	rt := router.New(router.Options{})
	front := httptest.NewServer(rt) // in OpenRunner: an http.Server on --router-listen
	defer front.Close()
	get := func(host string) {
		req, _ := http.NewRequest("GET", front.URL+"/", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(body))
	}
	instance := func(id, u string) router.Instance {
		parsed, _ := url.Parse(u)
		return router.Instance{ID: id, URL: parsed}
	}
	route := router.Route{
		ServiceARN:     "arn:aws:apprunner:us-east-1:000000000000:service/hello/8fe1e10304f84fd2b0df550fe98a71fa",
		Hosts:          []string{"abc123defg.us-east-1.localhost"}, // the ServiceUrl
		MaxConcurrency: 100,
		Instances:      []router.Instance{instance("rev1-a", rev1.URL)},
	}
	if err := rt.SetRoute(route); err != nil {
		fmt.Println(err)
	}
	get("abc123defg.us-east-1.localhost")

	// Redeploy: once the new instance is healthy, route it, drain the old
	// one, then stop it.
	route.Instances = []router.Instance{instance("rev2-a", rev2.URL)}
	if err := rt.SetRoute(route); err != nil {
		fmt.Println(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.WaitIdle(ctx, "rev1-a"); err != nil {
		fmt.Println("old instance still busy:", err)
	}
	rev1.Close()
	get("abc123defg.us-east-1.localhost")

	// A custom domain: the service answers on both hosts.
	route.Hosts = append(route.Hosts, "www.example.com")
	if err := rt.SetRoute(route); err != nil {
		fmt.Println(err)
	}
	get("www.example.com")

	route.Paused = true
	if err := rt.SetRoute(route); err != nil {
		fmt.Println(err)
	}
	get("abc123defg.us-east-1.localhost")
	// Output:
	// 200 revision 1
	// 200 revision 2
	// 200 revision 2
	// 503 Service "hello" is paused. Resume it to serve requests again.
}

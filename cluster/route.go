package cluster

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/openrunner/openrunner/router"
)

// routeDoc is a router.Route as the store keeps it. Renaming a field needs
// every server upgraded together (the documents are rewritten on the next
// pass of each service).
type routeDoc struct {
	ServiceName    string        `json:"name,omitempty"`
	Hosts          []string      `json:"hosts"`
	Paused         bool          `json:"paused,omitempty"`
	MaxConcurrency int           `json:"max_concurrency,omitempty"`
	Activate       bool          `json:"activate,omitempty"`
	Instances      []instanceDoc `json:"instances,omitempty"`
}

type instanceDoc struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

func encode(rt router.Route) ([]byte, error) {
	d := routeDoc{ServiceName: rt.ServiceName, Hosts: rt.Hosts, Paused: rt.Paused, MaxConcurrency: rt.MaxConcurrency, Activate: rt.Activate}
	for _, in := range rt.Instances {
		if in.URL == nil {
			return nil, fmt.Errorf("cluster: instance %s of %s has no URL", in.ID, rt.ServiceARN)
		}
		d.Instances = append(d.Instances, instanceDoc{ID: in.ID, URL: in.URL.String()})
	}
	return json.Marshal(d)
}

func decode(arn string, doc []byte) (router.Route, error) {
	var d routeDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return router.Route{}, fmt.Errorf("cluster: route of %s: %w", arn, err)
	}
	rt := router.Route{ServiceARN: arn, ServiceName: d.ServiceName, Hosts: d.Hosts, Paused: d.Paused, MaxConcurrency: d.MaxConcurrency, Activate: d.Activate}
	for _, in := range d.Instances {
		u, err := url.Parse(in.URL)
		if err != nil {
			return router.Route{}, fmt.Errorf("cluster: route of %s: instance %s: %w", arn, in.ID, err)
		}
		rt.Instances = append(rt.Instances, router.Instance{ID: in.ID, URL: u})
	}
	return rt, nil
}

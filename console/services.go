package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// servicesPageSize is how many services one page lists, ListServices'
// largest MaxResults.
const servicesPageSize = 20

// maxFilterPages bounds the ListServices pages a name filter reads.
const maxFilterPages = 50

// errNoServices answers the service pages of a console without an API.
var errNoServices = openrunner.Errorf(openrunner.EINVALID, "This OpenRunner server runs no services.")

// serviceRoutes are the routes of the service and auto scaling pages,
// every one for a signed-in session: GET and POST handlers by path.
func (c *Console) serviceRoutes(path string) (rt struct{ get, post http.HandlerFunc }, ok bool) {
	routes := map[string][2]authedHandler{
		pathServices:      {c.handleServices, nil},
		pathServiceCreate: {c.handleCreateServicePage, c.handleCreateService},
		pathService:       {c.handleService, nil},
		pathServiceAction: {nil, c.handleServiceAction},
		pathServiceEdit:   {c.handleEditServicePage, c.handleEditService},
		pathServiceDelete: {c.handleDeleteServicePage, c.handleDeleteService},
		pathServiceLogs:   {c.handleServiceLogs, nil},
		pathDomains:       {nil, c.handleDomains},
		pathAutoScaling:   {c.handleAutoScaling, c.handleCreateASC},
		pathASCDefault:    {nil, c.handleASCDefault},
		pathASCDelete:     {nil, c.handleASCDelete},
	}
	h, ok := routes[path]
	if h[0] != nil {
		rt.get = c.authed(h[0])
	}
	if h[1] != nil {
		rt.post = c.authed(h[1])
	}
	return rt, ok
}

// validated is a wire input, checked against the model before a call.
type validated interface{ Validate() error }

// call validates in as the AWS JSON endpoint would, then runs the
// operation in-process: the console and the API share every rule and
// message.
func call[I validated, O any](ctx context.Context, in I, op func(context.Context, I) (O, error)) (O, error) {
	if err := in.Validate(); err != nil {
		var zero O
		return zero, err
	}
	return op(ctx, in)
}

// api returns the App Runner operations, or errNoServices.
func (c *Console) api() (wire.AppRunner, error) {
	if c.cfg.API == nil {
		return nil, errNoServices
	}
	return c.cfg.API, nil
}

// servicesPage is the data of templates/services.html.
type servicesPage struct {
	Services  []serviceRow
	Filter    string
	Next      string // the NextToken of the next page
	Paged     bool   // not the first page
	LoadError string
}

// serviceRow is one service as the table shows it.
type serviceRow struct {
	Name, ARN, Status        string
	Host, Link               string // the ServiceUrl and what a browser opens
	Source                   string // "Image" or "Repository"
	SourceDetail             string // the image, or the repository URL
	Branch                   string
	Updated, UpdatedISO, Age string
}

func (c *Console) serviceRow(s *wire.Service) serviceRow {
	row := serviceRow{Name: wire.Deref(s.ServiceName), ARN: wire.Deref(s.ServiceArn), Status: string(wire.Deref(s.Status))}
	if s.ServiceUrl != nil {
		row.Host, row.Link = *s.ServiceUrl, c.serviceLink(*s.ServiceUrl)
	}
	if src := s.SourceConfiguration; src != nil {
		switch {
		case src.ImageRepository != nil:
			row.Source, row.SourceDetail = "Image", wire.Deref(src.ImageRepository.ImageIdentifier)
		case src.CodeRepository != nil:
			cr := src.CodeRepository
			branch := ""
			if cr.SourceCodeVersion != nil {
				branch = wire.Deref(cr.SourceCodeVersion.Value)
			}
			row.Source, row.SourceDetail, row.Branch = "Repository", wire.Deref(cr.RepositoryUrl), branch
		}
	}
	if s.UpdatedAt != nil {
		t := s.UpdatedAt.Time
		row.Updated, row.UpdatedISO, row.Age = t.UTC().Format("Jan 2, 2006 15:04 UTC"), t.UTC().Format(time.RFC3339), ago(c.now().Sub(t))
	}
	return row
}

// serviceLink is the URL a browser opens for a ServiceUrl.
func (c *Console) serviceLink(host string) string {
	if c.cfg.ServiceLink != nil {
		return c.cfg.ServiceLink(host)
	}
	return "https://" + host
}

// handleServices lists the Region's services, a page at a time as
// ListServices pages them; a name filter reads every page and lists the
// services whose name contains it.
func (c *Console) handleServices(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	q := r.URL.Query()
	p := servicesPage{Filter: strings.TrimSpace(q.Get("filter"))}
	status := http.StatusOK
	summaries, next, err := c.listServices(ctx, q.Get("token"), p.Filter)
	if err != nil {
		p.LoadError, status = c.storeError(r, "listing services", err), http.StatusBadRequest
	}
	p.Next, p.Paged = next, q.Get("token") != ""
	api, _ := c.api()
	for _, sum := range summaries {
		out, err := call(ctx, &wire.DescribeServiceInput{ServiceArn: sum.ServiceArn}, api.DescribeService)
		if err != nil {
			continue // deleted meanwhile
		}
		p.Services = append(p.Services, c.serviceRow(out.Service))
	}
	l := layout{Title: "Services", Flashes: c.sessions.takeFlashes(s.key), Page: p}
	c.fillHeader(&l, s, pathServices)
	c.render(w, r, status, "services", l)
}

// listServices returns a page of services, or with a filter every match.
func (c *Console) listServices(ctx context.Context, token, filter string) ([]wire.ServiceSummary, string, error) {
	api, err := c.api()
	if err != nil {
		return nil, "", err
	}
	in := &wire.ListServicesInput{MaxResults: wire.Ptr(int32(servicesPageSize))}
	if token != "" {
		in.NextToken = &token
	}
	if filter == "" {
		out, err := call(ctx, in, api.ListServices)
		if err != nil {
			return nil, "", err
		}
		return out.ServiceSummaryList, wire.Deref(out.NextToken), nil
	}
	var matches []wire.ServiceSummary
	in.NextToken = nil
	for range maxFilterPages {
		out, err := call(ctx, in, api.ListServices)
		if err != nil {
			return nil, "", err
		}
		for _, sum := range out.ServiceSummaryList {
			if strings.Contains(strings.ToLower(wire.Deref(sum.ServiceName)), strings.ToLower(filter)) {
				matches = append(matches, sum)
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return matches, "", nil
}

// serviceHeader is what the service page's header shows.
type serviceHeader struct {
	serviceRow
	ID                  string
	Created             string
	Busy                bool // an operation is in progress
	CanDeploy, CanEdit  bool
	CanPause, CanResume bool
	Deleted             bool
	Instances           string // from the newest metrics sample; "" when none
	PrivateDomain       string // a private service's VPC ingress DomainName
}

func (c *Console) serviceHeader(svc *wire.Service) serviceHeader {
	h := serviceHeader{serviceRow: c.serviceRow(svc), ID: wire.Deref(svc.ServiceId)}
	if svc.CreatedAt != nil {
		h.Created = svc.CreatedAt.Time.UTC().Format("Jan 2, 2006 15:04 UTC")
	}
	switch h.Status {
	case openrunner.ServiceRunning:
		h.CanDeploy, h.CanEdit, h.CanPause = true, true, true
	case openrunner.ServiceCreateFailed:
		h.CanDeploy, h.CanEdit = true, true
	case openrunner.ServicePaused:
		h.CanResume = true
	case openrunner.ServiceOperationInProgress:
		h.Busy = true
	case openrunner.ServiceDeleted:
		h.Deleted = true
	}
	return h
}

// describe finds a service of the session's Scope by ARN, with the
// API's checks and messages.
func (c *Console) describe(ctx context.Context, arn string) (*wire.Service, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	out, err := call(ctx, &wire.DescribeServiceInput{ServiceArn: &arn}, api.DescribeService)
	if err != nil {
		return nil, err
	}
	return out.Service, nil
}

// serviceURL is the service page's URL, on a tab.
func serviceURL(arn, tab string) string {
	v := url.Values{"arn": {arn}}
	if tab != "" {
		v.Set("tab", tab)
	}
	return pathService + "?" + v.Encode()
}

// failTo shows msg as an error on the page at target.
func (c *Console) failTo(w http.ResponseWriter, r *http.Request, s sessionView, target, msg string) {
	c.sessions.addFlash(s.key, "error", msg)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// handleServiceAction runs Deploy, Pause or Resume.
func (c *Console) handleServiceAction(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	arn := r.PostForm.Get("arn")
	api, err := c.api()
	if err != nil {
		c.failTo(w, r, s, pathServices, openrunner.ErrorMessage(err))
		return
	}
	var opID *string
	var verb string
	switch r.PostForm.Get("action") {
	case "deploy":
		out, e := call(ctx, &wire.StartDeploymentInput{ServiceArn: &arn}, api.StartDeployment)
		if err = e; e == nil {
			opID, verb = out.OperationId, "Deployment started"
		}
	case "pause":
		out, e := call(ctx, &wire.PauseServiceInput{ServiceArn: &arn}, api.PauseService)
		if err = e; e == nil {
			opID, verb = out.OperationId, "Pausing the service"
		}
	case "resume":
		out, e := call(ctx, &wire.ResumeServiceInput{ServiceArn: &arn}, api.ResumeService)
		if err = e; e == nil {
			opID, verb = out.OperationId, "Resuming the service"
		}
	default:
		err = openrunner.Errorf(openrunner.EINVALID, "Unknown action.")
	}
	if err != nil {
		c.failTo(w, r, s, serviceURL(arn, "logs"), c.storeError(r, "a service action", err))
		return
	}
	msg := "Nothing to do: the service is already in that state."
	if opID != nil {
		msg = fmt.Sprintf("%s: operation %s.", verb, *opID)
	}
	c.logger.Info("console: service action", "account", s.accountID, "arn", arn, "action", r.PostForm.Get("action"))
	c.sessions.addFlash(s.key, "success", msg)
	http.Redirect(w, r, serviceURL(arn, "logs"), http.StatusSeeOther)
}

// serviceDeletePage is the data of templates/servicedelete.html.
type serviceDeletePage struct {
	Service serviceHeader
	Typed   string
	Error   string
}

// handleDeleteServicePage asks for the service's name before a delete.
func (c *Console) handleDeleteServicePage(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	svc, err := c.describe(ctx, r.URL.Query().Get("arn"))
	if err != nil {
		c.failTo(w, r, s, pathServices, c.storeError(r, "finding a service", err))
		return
	}
	c.renderServiceDelete(w, r, s, http.StatusOK, serviceDeletePage{Service: c.serviceHeader(svc)})
}

func (c *Console) renderServiceDelete(w http.ResponseWriter, r *http.Request, s sessionView, status int, p serviceDeletePage) {
	l := layout{Title: "Delete " + p.Service.Name, Page: p}
	c.fillHeader(&l, s, pathServices)
	c.render(w, r, status, "servicedelete", l)
}

// handleDeleteService deletes a service once its name was typed.
func (c *Console) handleDeleteService(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	arn := r.PostForm.Get("arn")
	svc, err := c.describe(ctx, arn)
	if err != nil {
		c.failTo(w, r, s, pathServices, c.storeError(r, "finding a service", err))
		return
	}
	p := serviceDeletePage{Service: c.serviceHeader(svc), Typed: r.PostForm.Get("confirm")}
	if strings.TrimSpace(p.Typed) != p.Service.Name {
		p.Error = fmt.Sprintf("Type the service name, %s, to confirm the deletion.", p.Service.Name)
		c.renderServiceDelete(w, r, s, http.StatusBadRequest, p)
		return
	}
	api, _ := c.api()
	if _, err := call(ctx, &wire.DeleteServiceInput{ServiceArn: &arn}, api.DeleteService); err != nil {
		p.Error = c.storeError(r, "deleting a service", err)
		c.renderServiceDelete(w, r, s, http.StatusBadRequest, p)
		return
	}
	c.logger.Info("console: service deleted", "account", s.accountID, "arn", arn)
	c.sessions.addFlash(s.key, "success", fmt.Sprintf("Service %s is being deleted.", p.Service.Name))
	http.Redirect(w, r, pathServices, http.StatusSeeOther)
}

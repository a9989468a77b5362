package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// autoScalingPage is the data of templates/autoscaling.html.
type autoScalingPage struct {
	Configs   []ascRow
	Form      ascForm
	LoadError string
}

// ascRow is one active revision with the services using it.
type ascRow struct {
	ARN, Name                        string
	Revision                         int32
	MaxConcurrency, MinSize, MaxSize int32
	IsDefault, Latest, InUse         bool
	Created                          string
	Services                         []serviceLinkRow
}

// serviceLinkRow links a service by name.
type serviceLinkRow struct{ Name, ARN string }

// ascForm is the create-revision form.
type ascForm struct {
	Name, MaxConcurrency, MinSize, MaxSize string
	Errors                                 map[string]string
	Error                                  string
}

// maxASCs bounds the revisions the page lists (App Runner's quotas allow
// 10 names of 5 revisions, and the default).
const maxASCs = 100

// handleAutoScaling lists the auto scaling configurations.
func (c *Console) handleAutoScaling(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	c.renderAutoScaling(w, r, ctx, s, http.StatusOK, ascForm{MaxConcurrency: "100", MinSize: "1", MaxSize: "25"})
}

func (c *Console) renderAutoScaling(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView, status int, f ascForm) {
	p := autoScalingPage{Form: f}
	rows, err := c.ascRows(ctx)
	if err != nil {
		p.LoadError = c.storeError(r, "listing auto scaling configurations", err)
	}
	p.Configs = rows
	l := layout{Title: "Auto scaling configurations", Flashes: c.sessions.takeFlashes(s.key), Page: p}
	c.fillHeader(&l, s, pathAutoScaling)
	c.render(w, r, status, "autoscaling", l)
}

// ascRows reads every active revision, its settings and its services.
func (c *Console) ascRows(ctx context.Context) ([]ascRow, error) {
	a, err := c.api()
	if err != nil {
		return nil, err
	}
	out, err := call(ctx, &wire.ListAutoScalingConfigurationsInput{MaxResults: wire.Ptr(int32(maxASCs))}, a.ListAutoScalingConfigurations)
	if err != nil {
		return nil, err
	}
	rows := make([]ascRow, 0, len(out.AutoScalingConfigurationSummaryList))
	for _, sum := range out.AutoScalingConfigurationSummaryList {
		d, err := call(ctx, &wire.DescribeAutoScalingConfigurationInput{AutoScalingConfigurationArn: sum.AutoScalingConfigurationArn}, a.DescribeAutoScalingConfiguration)
		if err != nil {
			return nil, err
		}
		cfg := d.AutoScalingConfiguration
		row := ascRow{ARN: wire.Deref(cfg.AutoScalingConfigurationArn), Name: wire.Deref(cfg.AutoScalingConfigurationName),
			Revision: wire.Deref(cfg.AutoScalingConfigurationRevision), MaxConcurrency: wire.Deref(cfg.MaxConcurrency),
			MinSize: wire.Deref(cfg.MinSize), MaxSize: wire.Deref(cfg.MaxSize), IsDefault: wire.Deref(cfg.IsDefault),
			Latest: wire.Deref(cfg.Latest), InUse: wire.Deref(cfg.HasAssociatedService), Created: stamp(cfg.CreatedAt)}
		if row.InUse {
			svcs, err := call(ctx, &wire.ListServicesForAutoScalingConfigurationInput{AutoScalingConfigurationArn: &row.ARN,
				MaxResults: wire.Ptr(int32(100))}, a.ListServicesForAutoScalingConfiguration)
			if err != nil {
				return nil, err
			}
			for _, arn := range svcs.ServiceArnList {
				name := arn
				if parsed, err := openrunner.ParseARN(arn); err == nil && len(parsed.Path) > 0 {
					name = parsed.Path[0]
				}
				row.Services = append(row.Services, serviceLinkRow{Name: name, ARN: arn})
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// handleCreateASC creates a revision with the API's rules and messages.
func (c *Console) handleCreateASC(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	f := ascForm{Name: strings.TrimSpace(r.PostForm.Get("asc_name")), MaxConcurrency: r.PostForm.Get("max_concurrency"),
		MinSize: r.PostForm.Get("min_size"), MaxSize: r.PostForm.Get("max_size")}
	sf := &serviceForm{} // its number parsing and error placement
	in := &wire.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: &f.Name,
		MaxConcurrency: sf.parseInt32("max_concurrency", "The maximum concurrency", f.MaxConcurrency),
		MinSize:        sf.parseInt32("min_size", "The minimum size", f.MinSize),
		MaxSize:        sf.parseInt32("max_size", "The maximum size", f.MaxSize)}
	if sf.Errors == nil {
		a, err := c.api()
		if err == nil {
			var out *wire.CreateAutoScalingConfigurationOutput
			if out, err = call(ctx, in, a.CreateAutoScalingConfiguration); err == nil {
				cfg := out.AutoScalingConfiguration
				c.sessions.addFlash(s.key, "success", fmt.Sprintf("Created %s revision %d.", f.Name, wire.Deref(cfg.AutoScalingConfigurationRevision)))
				http.Redirect(w, r, pathAutoScaling, http.StatusSeeOther)
				return
			}
		}
		placeASCError(sf, c.storeError(r, "creating an auto scaling configuration", err))
	}
	f.Errors, f.Error = sf.Errors, sf.Error
	c.renderAutoScaling(w, r, ctx, s, http.StatusBadRequest, f)
}

// placeASCError puts an API error next to the create form's fields.
func placeASCError(f *serviceForm, msg string) {
	field := func(text string) string {
		t := strings.ToLower(text)
		for _, k := range []struct{ word, field string }{
			{"autoscalingconfigurationname", "asc_name"}, {"maxconcurrency", "max_concurrency"}, {"concurrency", "max_concurrency"},
			{"minsize", "min_size"}, {"maxsize", "max_size"}, {"minimum", "min_size"}, {"maximum", "max_size"},
		} {
			if strings.Contains(t, k.word) {
				return k.field
			}
		}
		return ""
	}
	if violations, ok := splitViolations(msg); ok {
		for _, v := range violations {
			f.fail(field(violationPath(v)), v)
		}
		return
	}
	f.fail(field(msg), msg)
}

// handleASCDefault makes a revision the default for new services.
func (c *Console) handleASCDefault(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	c.ascAction(w, r, s, "setting the default auto scaling configuration", "%s revision %d is now the default for new services.",
		func(a wire.AppRunner, arn string) (*wire.AutoScalingConfiguration, error) {
			out, err := call(ctx, &wire.UpdateDefaultAutoScalingConfigurationInput{AutoScalingConfigurationArn: &arn}, a.UpdateDefaultAutoScalingConfiguration)
			if err != nil {
				return nil, err
			}
			return out.AutoScalingConfiguration, nil
		})
}

// handleASCDelete deletes a revision.
func (c *Console) handleASCDelete(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	c.ascAction(w, r, s, "deleting an auto scaling configuration", "Deleted %s revision %d.",
		func(a wire.AppRunner, arn string) (*wire.AutoScalingConfiguration, error) {
			out, err := call(ctx, &wire.DeleteAutoScalingConfigurationInput{AutoScalingConfigurationArn: &arn}, a.DeleteAutoScalingConfiguration)
			if err != nil {
				return nil, err
			}
			return out.AutoScalingConfiguration, nil
		})
}

// ascAction runs op on the form's revision and reports the outcome, done
// naming the revision (name, then number).
func (c *Console) ascAction(w http.ResponseWriter, r *http.Request, s sessionView, what, done string,
	op func(wire.AppRunner, string) (*wire.AutoScalingConfiguration, error)) {
	a, err := c.api()
	if err == nil {
		var cfg *wire.AutoScalingConfiguration
		if cfg, err = op(a, r.PostForm.Get("arn")); err == nil {
			c.sessions.addFlash(s.key, "success", fmt.Sprintf(done, wire.Deref(cfg.AutoScalingConfigurationName), wire.Deref(cfg.AutoScalingConfigurationRevision)))
			http.Redirect(w, r, pathAutoScaling, http.StatusSeeOther)
			return
		}
	}
	c.failTo(w, r, s, pathAutoScaling, c.storeError(r, what, err))
}

package console

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner/metrics"
)

// The Metrics tab draws the sampled history as SVG on the server: no
// script, no library, nothing fetched from elsewhere.

// chartSpan is the time the charts cover.
const chartSpan = time.Hour

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 640, 200
	padL, padR, padT, padB = 48, 12, 12, 28
)

// metricsTab is the data of the Metrics tab.
type metricsTab struct {
	Charts   []chart
	Samples  int
	Interval string
	Empty    bool
}

// chart is one chart with its legend.
type chart struct {
	ID, Title, Summary string
	SVG                template.HTML
	Legend             []series
}

// series is one line of a chart; NaN values are gaps.
type series struct {
	Name, Class string
	values      []float64
}

// metricsTab builds the four charts of a service's last hour.
func (c *Console) metricsTab(arn string) *metricsTab {
	t := &metricsTab{Interval: "10s"}
	if c.cfg.MetricsInterval > 0 {
		t.Interval = c.cfg.MetricsInterval.String()
	}
	var pts []metrics.Point
	if c.cfg.Metrics != nil {
		pts = c.cfg.Metrics(arn)
	}
	t.Samples, t.Empty = len(pts), len(pts) == 0
	now := c.now()
	times := make([]time.Time, len(pts))
	col := func(f func(metrics.Point) float64) []float64 {
		out := make([]float64, len(pts))
		for i, p := range pts {
			out[i] = f(p)
		}
		return out
	}
	for i, p := range pts {
		times[i] = p.Time
	}
	reqs := func(class string) []float64 {
		return col(func(p metrics.Point) float64 { return float64(p.Requests[class]) })
	}
	ms := func(v float64) float64 { return v * 1000 }
	requests := []series{
		{Name: "2xx", Class: "s-ok", values: reqs("2xx")},
		{Name: "4xx", Class: "s-warn", values: reqs("4xx")},
		{Name: "5xx", Class: "s-bad", values: reqs("5xx")},
	}
	t.Charts = []chart{
		newChart("chart-instances", "Active instances", "", times, now, []series{
			{Name: "Active", Class: "s1", values: col(func(p metrics.Point) float64 { return float64(p.Active) })},
			{Name: "Desired", Class: "s2", values: col(func(p metrics.Point) float64 { return float64(p.Desired) })},
		}),
		newChart("chart-concurrency", "Concurrency", "", times, now, []series{
			{Name: "Requests in flight or waiting", Class: "s1", values: col(func(p metrics.Point) float64 { return p.Concurrency })},
		}),
		newChart("chart-requests", "Requests per "+t.Interval, "", times, now, requests),
		newChart("chart-latency", "Request latency", " ms", times, now, []series{
			{Name: "p50", Class: "s1", values: col(func(p metrics.Point) float64 { return ms(p.P50) })},
			{Name: "p99", Class: "s2", values: col(func(p metrics.Point) float64 { return ms(p.P99) })},
		}),
	}
	// The requests chart's summary counts the hour: its latest interval
	// is often empty.
	t.Charts[2].Summary = totals(requests)
	return t
}

// totals sums each series over the hour.
func totals(ss []series) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		sum := 0.0
		for _, v := range s.values {
			if !math.IsNaN(v) {
				sum += v
			}
		}
		parts = append(parts, s.Name+": "+formatValue(sum))
	}
	return "Last hour: " + strings.Join(parts, ", ") + "."
}

// newChart draws series over the hour before now.
func newChart(id, title, unit string, times []time.Time, now time.Time, ss []series) chart {
	top := 0.0
	for _, s := range ss {
		for _, v := range s.values {
			if !math.IsNaN(v) && v > top {
				top = v
			}
		}
	}
	top = niceCeil(top)
	start := now.Add(-chartSpan)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(start)) / float64(chartSpan)
		return padL + math.Max(0, math.Min(1, f))*(chartW-padL-padR)
	}
	y := func(v float64) float64 { return chartH - padB - v/top*(chartH-padT-padB) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s-svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc">`, id, chartW, chartH, id, id)
	summary := summarize(ss, unit)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, template.HTMLEscapeString(title), id, template.HTMLEscapeString(summary))
	for _, f := range []float64{0, 0.5, 1} {
		v := top * f
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, template.HTMLEscapeString(formatValue(v)+unit))
	}
	for i, label := range []string{"−60 min", "−30 min", "now"} {
		anchor := []string{"start", "middle", "end"}[i]
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="%s">%s</text>`, padL+float64(i)/2*(chartW-padL-padR), chartH-8, anchor, label)
	}
	for _, s := range ss {
		var d strings.Builder
		pen := false
		for i, v := range s.values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, x(times[i]), y(v))
			pen = true
			// A point between two gaps has no line: mark it.
			if (i == 0 || math.IsNaN(s.values[i-1])) && (i == len(s.values)-1 || math.IsNaN(s.values[i+1])) {
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"/>`, s.Class, x(times[i]), y(v))
			}
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line %s" d="%s"/>`, s.Class, strings.TrimSpace(d.String()))
		}
	}
	b.WriteString(`</svg>`)
	return chart{ID: id, Title: title, Summary: summary, SVG: template.HTML(b.String()), Legend: ss}
}

// summarize says the latest value of each series, for people who cannot
// see the chart.
func summarize(ss []series, unit string) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		last := "no data"
		for i := len(s.values) - 1; i >= 0; i-- {
			if !math.IsNaN(s.values[i]) {
				last = formatValue(s.values[i]) + unit
				break
			}
		}
		parts = append(parts, s.Name+": "+last)
	}
	return "Latest: " + strings.Join(parts, ", ") + "."
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten
// (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatValue(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

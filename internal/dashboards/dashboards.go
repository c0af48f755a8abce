package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// builders lists the dashboards in the order they are provisioned.
func builders() []func() *dashboard.DashboardBuilder {
	return []func() *dashboard.DashboardBuilder{overviewDashboard, ecsDashboard, rdsDashboard, albDashboard}
}

// All builds the four dashboards.
func All() ([]dashboard.Dashboard, error) {
	out := make([]dashboard.Dashboard, 0, 4)
	for _, build := range builders() {
		d, err := build().Build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: build: %w", err)
		}
		numberPanels(&d)
		out = append(out, d)
	}
	return out, nil
}

// numberPanels gives every panel and row a dashboard-unique id; Grafana
// needs them for links to a single panel and the SDK leaves them unset.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	next := func() *uint32 { id++; v := id; return &v }
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = next()
		case p.RowPanel != nil:
			p.RowPanel.Id = *next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = next()
			}
		}
	}
}

// Model is one dashboard encoded as a Grafana dashboard model.
type Model struct {
	UID   string
	Title string
	JSON  []byte
}

// JSON returns every dashboard as indented JSON, in provisioning order.
func JSON() ([]Model, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	out := make([]Model, 0, len(all))
	for _, d := range all {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("dashboards: encode %s: %w", deref(d.Uid), err)
		}
		out = append(out, Model{UID: deref(d.Uid), Title: deref(d.Title), JSON: append(b, '\n')})
	}
	return out, nil
}

// Query is one PromQL query of a dashboard, before template variables are
// substituted.
type Query struct {
	Panel string // panel title
	RefID string
	Expr  string
}

// Panel is one panel and its queries.
type Panel struct {
	Title   string
	Queries []Query
}

// Panels lists every panel of d with its Prometheus queries, rows flattened.
func Panels(d dashboard.Dashboard) []Panel {
	var out []Panel
	add := func(p dashboard.Panel) {
		title := deref(p.Title)
		panel := Panel{Title: title}
		for _, t := range p.Targets {
			// Built panels hold values, decoded ones may hold pointers.
			switch pq := t.(type) {
			case prometheus.Dataquery:
				panel.Queries = append(panel.Queries, Query{Panel: title, RefID: deref(pq.RefId), Expr: pq.Expr})
			case *prometheus.Dataquery:
				panel.Queries = append(panel.Queries, Query{Panel: title, RefID: deref(pq.RefId), Expr: pq.Expr})
			}
		}
		out = append(out, panel)
	}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			add(*p.Panel)
		case p.RowPanel != nil:
			for _, rp := range p.RowPanel.Panels {
				add(rp)
			}
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package cost

import (
	"strings"
	"testing"
)

// FuzzSuggest: any expression, Grafana variables and all, gives a
// suggestion or an error naming its source; never a panic.
func FuzzSuggest(f *testing.F) {
	for _, s := range []string{
		`sum by (env) (aws_rds_cpuutilization_average{dimension_DBInstanceIdentifier=~"$db"}) / 60`,
		`{__name__=~"aws_.+"} offset 1h unless on (a) b[$__rate_interval]`,
		`label_replace(x, "y", "$1", "a", "(.*)")`,
		`rec:x:y > ${threshold:raw}`,
		`x{a="\"$v\""}[[interval]]`,
	} {
		f.Add(s)
	}
	names := map[string]Stat{
		"aws_rds_cpuutilization_average": {Metric{"AWS/RDS", "CPUUtilization"}, "average", 0},
		"aws_rds_cpuutilization_p99":     {Metric{"AWS/RDS", "CPUUtilization"}, "p99", 0.99},
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if !strings.ContainsAny(expr, "$[") && Substitute(expr) != expr {
			t.Fatalf("Substitute changed %q without a variable", expr)
		}
		r := Reads{Queries: []Query{{"q", expr}}, Records: map[string]string{"rec:x:y": expr}}
		if _, err := Suggest(r, names); err != nil && !strings.HasPrefix(err.Error(), "q") {
			t.Fatalf("error without its source: %v", err)
		}
	})
}

// FuzzReads: any bytes as a dashboard or a rule file are read or refused
// with an error naming them; never a panic.
func FuzzReads(f *testing.F) {
	f.Add([]byte(`{"panels": [{"targets": [{"refId": "A", "expr": "x"}]}], "templating": {"list": [{"name": "v", "query": {"query": "label_values(x, a)"}}]}}`))
	f.Add([]byte("groups:\n- name: g\n  rules:\n  - record: a:b\n    expr: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Reads
		if err := r.AddDashboard("d", b); err != nil && !strings.HasPrefix(err.Error(), "dashboard d") {
			t.Fatalf("dashboard error without its name: %v", err)
		}
		if err := r.AddRules("f", b); err != nil && !strings.HasPrefix(err.Error(), "rules f") {
			t.Fatalf("rules error without its name: %v", err)
		}
	})
}

package sample

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/textparse"
)

func TestAppendText(t *testing.T) {
	tests := []struct {
		name string
		s    Sample
		want string
	}{
		{"plain", Sample{Name: "up", T: 1, V: 1}, `up 1 1`},
		{"labels", Sample{Name: "aws_rds_cpuutilization_average", Labels: []Label{{"a", "x"}, {"dimension_LoadBalancer", "app/web/50dc"}}, T: 1700000000000, V: 12.5},
			`aws_rds_cpuutilization_average{a="x",dimension_LoadBalancer="app/web/50dc"} 12.5 1700000000000`},
		{"escapes", Sample{Name: "m", Labels: []Label{{"v", "a\"b\\c\nd é=,"}}, T: 5, V: -0.25}, `m{v="a\"b\\c\nd é=,"} -0.25 5`},
		{"big", Sample{Name: "m", V: 1e21}, `m 1e+21 0`},
		{"nan", Sample{Name: "m", V: math.NaN()}, `m NaN 0`},
		{"inf", Sample{Name: "m", V: math.Inf(-1)}, `m -Inf 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendText(nil, tt.s))
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			// What we print must parse as the text format, to the same values.
			p, err := textparse.New([]byte(got+"\n"), "text/plain", nil, textparse.ParserOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Next(); err != nil {
				t.Fatalf("text parser: %v", err)
			}
			_, ts, v := p.Series()
			if ts == nil || *ts != tt.s.T || !(v == tt.s.V || math.IsNaN(v) && math.IsNaN(tt.s.V)) {
				t.Fatalf("parsed back ts=%v v=%v", ts, v)
			}
		})
	}
}

package tags

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// FuzzParseARN: any string parses or is refused without a panic; an ARN
// that parses names a supported kind with every dimension set, values taken
// from the ARN as they are.
func FuzzParseARN(f *testing.F) {
	for _, r := range []string{
		"arn:aws:rds:eu-west-1:123456789012:db:orders-db-1",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
		"arn:aws:ecs:us-east-1:123456789012:service/prod-web/orders-api",
		"arn:aws:ecs:us-east-1:123456789012:service/orders-api",
		"arn:::::", "",
	} {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		a, ok := ParseARN(arn)
		if !ok {
			return
		}
		if kindIndex(a.Kind) < 0 || len(a.Dimensions) != len(kinds[a.kind].dims) {
			t.Fatalf("%q: %+v", arn, a)
		}
		for _, d := range a.Dimensions {
			if d.Value == "" || !strings.Contains(arn, d.Value) {
				t.Fatalf("%q: dimension %+v", arn, d)
			}
		}
	})
}

// FuzzLabelName: a tag key either becomes a valid classic label name
// starting with tag_, or is left out.
func FuzzLabelName(f *testing.F) {
	for _, k := range []string{"Team", "aws:cloudformation:stack-name", "2fa", "Disk%", "\u201cq\u201c", "Équipe"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		name, ok := LabelName(key)
		if ok && (!strings.HasPrefix(name, "tag_") || !model.LabelName(name).IsValidLegacy()) {
			t.Fatalf("%q → %q", key, name)
		}
	})
}

package remotewrite

import (
	"testing"

	"github.com/prometheus/common/model"
)

// validName agrees with the model's legacy checks it replaces, for every
// byte in every position and for the names a stream makes.
func TestValidName(t *testing.T) {
	names := []string{"", "a", "_", ":", "0", "aws_rds_cpuutilization_average", "dimension_DBInstanceIdentifier",
		"__name__", "a:b", "a-b", "a b", "é", "aé", "a\x00", "job:rate5m", "9lives", "A_Z", "tag_aws:cloudformation"}
	for c := range 256 {
		names = append(names, string([]byte{byte(c)}), "a"+string([]byte{byte(c)}), string([]byte{byte(c)})+"a")
	}
	for _, n := range names {
		if got, want := validName(n, metricNameChars), model.IsValidLegacyMetricName(n); got != want {
			t.Errorf("metric name %q: validName %v, model %v", n, got, want)
		}
		if got, want := validName(n, labelNameChars), model.LegacyValidation.IsValidLabelName(n); got != want {
			t.Errorf("label name %q: validName %v, model %v", n, got, want)
		}
	}
}

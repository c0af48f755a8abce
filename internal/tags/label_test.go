package tags

import "testing"

// The expectations are YACE's (promutil.PromStringTag with labels_snake_case
// false, as its tests and README show), worked out by hand from its rules.
func TestLabelName(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"Team", "tag_Team", true},
		{"team", "tag_team", true},
		{"CostCenter", "tag_CostCenter", true}, // case kept, no snake case
		{"aws:cloudformation:stack-name", "tag_aws_cloudformation_stack_name", true},
		{"kubernetes.io/cluster/production-19", "tag_kubernetes_io_cluster_production_19", true},
		{"Owner Email", "tag_Owner_Email", true},
		{"a,b\tc\\d=e@f<g>h", "tag_a_b_c_d_e_f_g_h", true},
		{"Disk%", "tag_Disk_percent", true},
		{"\u201cQuoted\u201c", "tag__Quoted_", true},
		{"_private", "tag__private", true},
		{"2fa", "", false},        // the key, not the label, must be a valid name
		{"Team(main)", "", false}, // YACE does not replace parentheses in tag keys
		{"Équipe", "", false},     // not a classic label name
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := LabelName(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("LabelName(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

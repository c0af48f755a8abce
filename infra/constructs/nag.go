package constructs

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppressWildcards records, on the construct that creates a wildcard, why
// cdk-nag's AwsSolutions-IAM5 finding for it is acceptable. Each entry maps an
// appliesTo pattern (a literal finding, or {"regex": …}) to its reason.
func suppressWildcards(construct any, reasons []nagReason) {
	s := make([]*cdknag.NagPackSuppression, 0, len(reasons))
	for _, r := range reasons {
		s = append(s, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(r.reason),
			AppliesTo: &[]any{r.appliesTo},
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &s, jsii.Bool(true))
}

type nagReason struct {
	appliesTo any
	reason    string
}

func regex(re string) map[string]any { return map[string]any{"regex": re} }

package grafana

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
)

// Custom resource properties (CloudFormation passes them all as strings).
const (
	PropWorkspaceID   = "WorkspaceId"   // required: the AMG workspace, g-…
	PropPrometheusURL = "PrometheusUrl" // the AMP query URL; empty: no data source
	PropRegion        = "Region"        // AMP region for SigV4; default the Lambda's
	// Any other property (a hash of the dashboards, say) is ignored but,
	// when it changes, makes CloudFormation send an Update: a new build
	// with changed dashboards re-provisions them.
)

// physicalPrefix starts the physical ids of resources this handler made, so
// a Delete of anything else (a failed Create's request id) does nothing.
const physicalPrefix = "cwstream-grafana:"

// CustomResource handles the CloudFormation custom resource events:
// Create and Update sync, Delete removes. Wrap Handle with cfn.LambdaWrap.
type CustomResource struct {
	Provisioner *Provisioner
	// DefaultRegion is used when the Region property is missing.
	DefaultRegion string
	// NewSpec builds the spec; nil means NewSpec of this package.
	NewSpec func(workspaceID, region, prometheusURL string) (Spec, error)
}

// deadlineMargin is kept free before the Lambda deadline so the handler can
// still answer CloudFormation, which otherwise waits an hour.
const deadlineMargin = 10 * time.Second

// Handle is a cfn.CustomResourceFunction.
func (c *CustomResource) Handle(ctx context.Context, ev cfn.Event) (physicalID string, data map[string]any, err error) {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	props := ev.ResourceProperties
	if ev.RequestType == cfn.RequestDelete {
		if !strings.HasPrefix(ev.PhysicalResourceID, physicalPrefix) {
			// Create failed before anything was provisioned.
			return ev.PhysicalResourceID, nil, nil
		}
		spec, err := c.spec(props)
		if err != nil {
			return ev.PhysicalResourceID, nil, fmt.Errorf("delete: %w", err)
		}
		return ev.PhysicalResourceID, nil, c.Provisioner.Remove(ctx, spec)
	}
	spec, err := c.spec(props)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", ev.RequestType, err)
	}
	// A new workspace is a new resource: CloudFormation then deletes the
	// old one, which removes the dashboards from the old workspace.
	physicalID = physicalPrefix + spec.WorkspaceID
	res, err := c.Provisioner.Sync(ctx, spec)
	if err != nil {
		if ev.RequestType == cfn.RequestUpdate {
			// Keep the old id: a failed update must not make CloudFormation
			// delete the resource it rolls back to.
			return ev.PhysicalResourceID, nil, err
		}
		// No id of ours: the rollback's Delete then does nothing instead of
		// failing again on what made Create fail (a wrong workspace id).
		// Whatever was saved before the failure is upserted next time.
		return "", nil, err
	}
	return physicalID, map[string]any{
		"Endpoint":      res.Endpoint,
		"FolderUid":     spec.FolderUID,
		"DataSourceUid": spec.DataSourceUID,
		"Dashboards":    strings.Join(res.Dashboards, ","),
	}, nil
}

func (c *CustomResource) spec(props map[string]any) (Spec, error) {
	str := func(k string) (string, error) {
		v, ok := props[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("property %s: want a string, got %T", k, v)
		}
		return s, nil
	}
	ws, err := str(PropWorkspaceID)
	if err != nil {
		return Spec{}, err
	}
	if ws == "" {
		return Spec{}, fmt.Errorf("property %s is required", PropWorkspaceID)
	}
	promURL, err := str(PropPrometheusURL)
	if err != nil {
		return Spec{}, err
	}
	region, err := str(PropRegion)
	if err != nil {
		return Spec{}, err
	}
	if region == "" {
		region = c.DefaultRegion
	}
	newSpec := c.NewSpec
	if newSpec == nil {
		newSpec = NewSpec
	}
	return newSpec(ws, region, promURL)
}

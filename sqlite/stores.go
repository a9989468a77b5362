package sqlite

import (
	"context"

	"github.com/openrunner/openrunner"
)

// Stores returns every store on db. Closing them closes db.
func (db *DB) Stores() openrunner.Stores {
	return openrunner.Stores{
		Connections: NewConnectionService(db),
		Tags:        NewTagService(db),
		Services:    NewServiceService(db),
		Leases:      NewLeaseService(db),
		AutoScaling: NewAutoScalingConfigurationService(db),
		Meta:        db,
		// The stores that came with later features.
		Observability: NewObservabilityConfigurationService(db),
		VPC:           NewVPCService(db),
		CustomDomains: NewCustomDomainService(db),
		Blobs:         NewBlobService(db),
		Secrets:       NewSecretService(db),
		Parameters:    NewParameterService(db),
		Kind:          "sqlite",
		Ping:          func(ctx context.Context) error { return db.read.PingContext(ctx) },
		Close:         db.Close,
	}
}

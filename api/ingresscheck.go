package api

import "github.com/openrunner/openrunner/wire"

// CheckVpcIngressConnection checks a CreateVpcIngressConnection input as
// the operation does before it looks the service up: the model's
// constraints, then the VpcId and VpcEndpointId OpenRunner requires. The
// console checks a private service's connection with it before creating
// the service, so a form it would refuse creates nothing.
func CheckVpcIngressConnection(in *wire.CreateVpcIngressConnectionInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	_, _, err := ingressVpc(in.IngressVpcConfiguration)
	return err
}

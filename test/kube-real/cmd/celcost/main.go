// celcost prints, for every x-kubernetes-validations rule of the given CRD manifests, the CEL
// cost that kube-apiserver estimates when the CRD is created or updated, next to the limits the
// apiserver enforces. It runs the apiserver's own code (k8s.io/apiextensions-apiserver at the
// version pinned in ../../go.mod): ValidateCustomResourceDefinition — the exact check that
// refuses a CRD over budget — and, for the per-rule figures, the same walk with the same
// cardinality bookkeeping (CELSchemaContext) and the same compiler (cel.Compile with the
// per-call limit and the base environment of this Kubernetes version).
//
//	celcost crds/*.yaml
//
// Exit status 1 when any CRD would be refused.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

type ruleCost struct {
	path, rule string
	cost       uint64
}

func mul(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

func walk(s *apiextensions.JSONSchemaProps, ctx *validation.CELSchemaContext, path *field.Path, envSet *environment.EnvSet, out *[]ruleCost) error {
	if s == nil {
		return nil
	}
	if len(s.XValidations) > 0 {
		ti, err := ctx.TypeInfo()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		// A CRD being created: every expression is new (validation's preexistingExpressions is empty).
		results, err := cel.Compile(ti.Schema, ti.DeclType, celconfig.PerCallLimit, envSet, cel.NewExpressionsEnvLoader())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, r := range results {
			if r.Error != nil {
				return fmt.Errorf("%s rule %q: %v", path, s.XValidations[i].Rule, r.Error)
			}
			// validation.getExpressionCost: the rule's cost times how many times it can run.
			card := r.MaxCardinality
			if ctx.MaxCardinality != nil {
				card = *ctx.MaxCardinality
			}
			*out = append(*out, ruleCost{path.String(), s.XValidations[i].Rule, mul(r.MaxCost, card)})
			if r.MessageExpressionMaxCost > 0 {
				*out = append(*out, ruleCost{path.String(), "messageExpression: " + s.XValidations[i].MessageExpression, r.MessageExpressionMaxCost})
			}
		}
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.Properties[n]
		if err := walk(&p, ctx.ChildPropertyContext(&p, n), path.Child(n), envSet, out); err != nil {
			return err
		}
	}
	if s.Items != nil && s.Items.Schema != nil {
		if err := walk(s.Items.Schema, ctx.ChildItemsContext(s.Items.Schema), path.Child("items"), envSet, out); err != nil {
			return err
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		if err := walk(s.AdditionalProperties.Schema, ctx.ChildAdditionalPropertiesContext(s.AdditionalProperties.Schema), path.Child("additionalProperties"), envSet, out); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true)
	refused := false
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var v1 apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &v1); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(2)
		}
		apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1)
		var crd apiextensions.CustomResourceDefinition
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(2)
		}
		errs := validation.ValidateCustomResourceDefinition(context.Background(), &crd)
		for _, v := range crd.Spec.Versions {
			// The internal type hoists a schema that all versions share to spec.validation.
			validation_ := v.Schema
			if validation_ == nil {
				validation_ = crd.Spec.Validation
			}
			if validation_ == nil || validation_.OpenAPIV3Schema == nil {
				continue
			}
			root := validation_.OpenAPIV3Schema
			var costs []ruleCost
			if err := walk(root, validation.RootCELContext(root), field.NewPath("openAPIV3Schema"), envSet, &costs); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
				os.Exit(2)
			}
			var total uint64
			fmt.Printf("%s (%s %s):\n", crd.Name, file, v.Name)
			for _, c := range costs {
				total += c.cost
				fmt.Printf("  %-10d %5.2f%% of %d per rule   %s: %s\n", c.cost, 100*float64(c.cost)/validation.StaticEstimatedCostLimit, validation.StaticEstimatedCostLimit, c.path, c.rule)
			}
			fmt.Printf("  total %d = %.2f%% of the CRD budget %d\n", total, 100*float64(total)/validation.StaticEstimatedCRDCostLimit, validation.StaticEstimatedCRDCostLimit)
		}
		if len(errs) > 0 {
			refused = true
			fmt.Printf("  REFUSED by kube-apiserver validation:\n")
			for _, e := range errs {
				fmt.Printf("    %s\n", e.Error())
			}
		} else {
			fmt.Printf("  accepted by kube-apiserver validation (ValidateCustomResourceDefinition)\n")
		}
	}
	if refused {
		os.Exit(1)
	}
}

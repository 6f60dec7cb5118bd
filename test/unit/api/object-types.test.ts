import { describe, expect, it } from 'vitest';
import { isStandardObjectType, OBJECT_TYPES, objectTypeDescriptor } from '../../../operator/src/api/object-types.js';

describe('object type descriptors', () => {
  it('have the default mappings and last-modified properties of DESIGN §2.2 and §3', () => {
    expect(OBJECT_TYPES.contacts.defaultMappedProperties).toContain('lifecyclestage');
    expect(OBJECT_TYPES.deals.defaultMappedProperties).toEqual(['dealname', 'amount', 'dealstage', 'pipeline', 'closedate']);
    expect(objectTypeDescriptor('contacts').lastModifiedProperty).toBe('lastmodifieddate');
    expect(objectTypeDescriptor('companies').lastModifiedProperty).toBe('hs_lastmodifieddate');
    expect(objectTypeDescriptor('2-123').lastModifiedProperty).toBe('hs_lastmodifieddate');
    expect(isStandardObjectType('deals')).toBe(true);
    expect(isStandardObjectType('p_projects')).toBe(false);
  });

  it('name the property group of new properties and the properties HubSpot keeps unique', () => {
    expect(objectTypeDescriptor('contacts').propertyGroup).toBe('contactinformation');
    expect(objectTypeDescriptor('p_projects').propertyGroup).toBeUndefined();
    expect(objectTypeDescriptor('contacts').uniqueProperties).toEqual(['email']);
    expect(objectTypeDescriptor('companies').uniqueProperties).toEqual([]);
  });
});

-- Argo CD health check for HubSpotIntegration, FieldMapping and SyncFilter
-- (group hubspot-operator.dev). Register it in argocd-cm under
--   resource.customizations.health.hubspot-operator.dev_HubSpotIntegration
--   resource.customizations.health.hubspot-operator.dev_FieldMapping
--   resource.customizations.health.hubspot-operator.dev_SyncFilter
-- (the chart README has the complete snippet). Written for Lua 5.1 (Argo CD's gopher-lua).
--
-- Mapping, in order:
--   being deleted                                  -> Progressing (the cleanup finalizer runs)
--   spec.suspend: true                             -> Suspended   (a deliberate pause)
--   no status / status.observedGeneration behind
--     metadata.generation / Ready not yet reported
--     for this generation                          -> Progressing (the operator has not caught up)
--   Stalled=True                                   -> Degraded    (needs a change by the user)
--   Ready=True and Degraded=True                   -> Degraded    (working, but records are failing)
--   Ready=True                                     -> Healthy     (a routine sync cycle with
--                                                     Reconciling=True stays Healthy: no flapping)
--   Ready=False, reason Progressing/Deleting/Suspended
--                                                  -> Progressing (first sync, or resuming)
--   Ready=False, any other reason                  -> Degraded    (InvalidSpec, AuthenticationFailed,
--                                                     PermissionDenied, TargetUnavailable,
--                                                     RateLimited, SyncFailed)
--   Ready=Unknown or missing                       -> Progressing

local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    if c.reason ~= nil and c.reason ~= "" then
      return c.reason .. ": " .. c.message
    end
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

-- Generations arrive as JSON numbers; print them without a decimal part in any Lua version.
local function int(n)
  return string.format("%d", n)
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting: waiting for the operator's cleanup to finish"
  return hs
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Suspended (spec.suspend is true): no reads or writes until resumed"
  return hs
end

local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. int(generation)
    .. " (observed " .. int(status.observedGeneration) .. ")"
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition of generation " .. int(generation)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, describe(ready, "Stalled"))
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
local degraded = condition(status.conditions, "Degraded")

if ready ~= nil and ready.status == "True" then
  if degraded ~= nil and degraded.status == "True" then
    hs.status = "Degraded"
    hs.message = describe(degraded, "Some records are failing")
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" then
  -- A failing integration stays Degraded while it retries (Reconciling=True): only these
  -- reasons mean "not there yet" rather than "broken".
  if ready.reason == "Progressing" or ready.reason == "Deleting" or ready.reason == "Suspended" then
    hs.status = "Progressing"
    hs.message = describe(reconciling, describe(ready, "Progressing"))
    return hs
  end
  hs.status = "Degraded"
  hs.message = describe(ready, "Not ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(reconciling, describe(ready, "Waiting for the Ready condition"))
return hs

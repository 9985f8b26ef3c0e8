package org.jitgate.ranger;

import java.util.List;
import java.util.Set;
import org.apache.ranger.plugin.conditionevaluator.RangerAbstractConditionEvaluator;
import org.apache.ranger.plugin.policyengine.RangerAccessRequest;
import org.apache.ranger.plugin.util.RangerAccessRequestUtil;
import org.jitgate.Decision;
import org.jitgate.JitGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code jitgate-grant} policy condition: a Ranger policy item carrying it matches only while
 * the requesting user holds an active jitgate grant covering the request's resource and access
 * type, i.e. while the jitgate engine of this JVM answers {@link Decision#ALLOW}.
 *
 * <p>Register it in a service definition's {@code policyConditions} (see
 * {@code servicedefs/*-jitgate-condition.json} and the module's README). Ranger access types map
 * to jitgate actions by the core's {@code ranger} table ({@link JitGate#mapping}); resources by
 * {@link RangerResources}. The condition is false when the resource is in no jitgate zone (a grant
 * cannot exist there), when a requested access type has no actions in the table, and on any
 * failure: it can only narrow what a policy item allows, where Ranger can load it (a plugin that
 * cannot drops the condition: see {@link JitGateNoGrantConditionEvaluator} for the deny form).
 *
 * <p>Every decision inside a zone is audited by jitgate with the context
 * {@code ranger.service=<name> ranger.policy.id=<id> ranger.access=<types>}. Ranger hands a
 * condition evaluator its service definition, condition definition and the condition's values, but
 * never its policy: the policy's id is the condition's value, which the policy's author enters.
 */
public class JitGateConditionEvaluator extends RangerAbstractConditionEvaluator {
    static final String ENGINE = "ranger";

    private static final Logger LOG = LoggerFactory.getLogger(JitGateConditionEvaluator.class);

    private JitGate jitgate;
    private String serviceType;
    private String contextPrefix;

    /** Joins this JVM's jitgate engine; on failure the condition never matches (logged at each policy load). */
    @Override
    public void init() {
        super.init();
        try {
            serviceType = serviceDef.getName();
            PluginSettings settings = PluginSettings.of(serviceType, conditionDef.getEvaluatorOptions());
            contextPrefix = contextPrefix(settings.serviceName, condition == null ? null : condition.getValues());
            jitgate = JitGate.shared(settings.engine);
        } catch (Throwable t) {
            jitgate = null;
            LOG.error("jitgate: the jitgate-grant condition cannot reach the jitgate engine; it matches no request", t);
        }
    }

    @Override
    public boolean isMatched(RangerAccessRequest request) {
        try {
            return jitgate != null && allowed(request);
        } catch (Throwable t) {
            LOG.warn("jitgate: the jitgate-grant condition failed; not matched", t);
            return false;
        }
    }

    private boolean allowed(RangerAccessRequest request) {
        String user = request.getUser();
        String resource = RangerResources.of(serviceType, request.getResource());
        Set<String> accessTypes = RangerAccessRequestUtil.getAllRequestedAccessTypes(request);
        int actions = actions(accessTypes);
        if (user == null || resource == null || actions == 0) {
            return false;
        }
        String operation = request.getAction() != null ? request.getAction() : request.getAccessType();
        String access = "ranger.access=" + String.join(",", accessTypes);
        String context = contextPrefix.isEmpty() ? access : contextPrefix + " " + access;
        return jitgate.decide(user, resource, actions, operation, context) == Decision.ALLOW;
    }

    /** The actions covering every requested access type; 0 when one of them has none. */
    static int actions(Set<String> accessTypes) {
        int all = 0;
        for (String accessType : accessTypes) {
            int[] row = accessType == null ? null : JitGate.mapping(ENGINE, accessType);
            int actions = row == null ? 0 : row[0] | row[1];
            if (actions == 0) {
                return 0;
            }
            all |= actions;
        }
        return all;
    }

    /** {@code ranger.service=<name> ranger.policy.id=<value>}, each part only when known; no spaces inside values. */
    static String contextPrefix(String serviceName, List<String> values) {
        StringBuilder out = new StringBuilder();
        if (serviceName != null && !serviceName.isBlank()) {
            out.append("ranger.service=").append(token(serviceName));
        }
        String policy = values == null ? null
                : values.stream().filter(v -> v != null && !v.isBlank()).findFirst().orElse(null);
        if (policy != null) {
            out.append(out.length() == 0 ? "" : " ").append("ranger.policy.id=").append(token(policy));
        }
        return out.toString();
    }

    private static String token(String value) {
        return value.strip().replaceAll("\\s+", "_");
    }
}

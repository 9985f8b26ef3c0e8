package org.jitgate.ranger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.apache.ranger.authorization.hadoop.config.RangerPluginConfig;
import org.apache.ranger.authorization.utils.JsonUtils;
import org.apache.ranger.plugin.model.RangerPolicy;
import org.apache.ranger.plugin.model.RangerServiceDef;
import org.apache.ranger.plugin.model.RangerServiceDef.RangerPolicyConditionDef;
import org.apache.ranger.plugin.policyengine.RangerPolicyEngineOptions;
import org.apache.ranger.plugin.service.RangerBasePlugin;
import org.apache.ranger.plugin.util.ServicePolicies;

/**
 * Ranger services as a plugin holds them, built from the files an admin works with: Ranger's own
 * service definition (shipped in ranger-plugins-common), the module's condition addition and its
 * example policy. No Ranger Admin: the policies are handed to the plugin as a download would.
 */
final class RangerServices {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RangerServices() {
    }

    /** Ranger's standard definition of {@code type} ("hdfs", "hive"). */
    static RangerServiceDef standardDef(String type) {
        return JsonUtils.jsonToObject(resource("/service-defs/ranger-servicedef-" + type + ".json"),
                RangerServiceDef.class);
    }

    /** The module's shipped addition for {@code type}: {@code policyConditions} and {@code examplePolicy}. */
    static JsonNode addition(String type) {
        try {
            return JSON.readTree(resource("/servicedefs/" + type + "-jitgate-condition.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ranger's definition with the shipped jitgate-grant condition added, as an admin would. */
    static RangerServiceDef defWithCondition(String type, Map<String, String> evaluatorOptions) {
        RangerServiceDef def = standardDef(type);
        RangerPolicyConditionDef condition = JsonUtils.jsonToObject(
                addition(type).path("policyConditions").get(0).toString(), RangerPolicyConditionDef.class);
        condition.setEvaluatorOptions(evaluatorOptions);
        List<RangerPolicyConditionDef> conditions = new ArrayList<>(def.getPolicyConditions());
        conditions.add(condition);
        def.setPolicyConditions(conditions);
        return def;
    }

    /** The shipped example policy, saved in {@code service} under {@code id}. */
    static RangerPolicy examplePolicy(String type, String service, long id) {
        RangerPolicy policy = policy(addition(type).path("examplePolicy").toString());
        policy.setId(id);
        policy.setService(service);
        return policy;
    }

    static RangerPolicy policy(String json) {
        RangerPolicy policy = JsonUtils.jsonToObject(json, RangerPolicy.class);
        policy.setVersion(1L);
        return policy;
    }

    /**
     * A Ranger plugin of {@code type} for {@code service} holding {@code policies}: what a NameNode or
     * HiveServer2 runs, with the policy refresher and Ranger's audit off (ranger-*-audit.xml).
     */
    static RangerBasePlugin plugin(String type, String service, RangerServiceDef def, List<RangerPolicy> policies) {
        RangerPolicyEngineOptions options = new RangerPolicyEngineOptions();
        options.disablePolicyRefresher = true;
        options.disableTagRetriever = true;
        options.disableUserStoreRetriever = true;
        RangerPluginConfig config = new RangerPluginConfig(type, service, "jitgate-test", null, null, options);

        ServicePolicies download = new ServicePolicies();
        download.setServiceName(service);
        download.setServiceId(1L);
        download.setPolicyVersion(1L);
        download.setPolicyUpdateTime(new Date());
        download.setServiceDef(def);
        download.setPolicies(policies);
        return new RangerBasePlugin(config, download, null, null);
    }

    private static String resource(String name) {
        try (InputStream in = RangerServices.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing on the test classpath: " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

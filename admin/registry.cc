// The registry of comet-admin's commands: mqadmin's name, a one-line summary, the options and the
// handler of each, in the order `comet-admin --help` lists them.
#include "admin/handlers.h"

namespace comet::admin {

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"clusterList",
       "list the brokers registered with the name server",
       {{"clusterName", 'c', OptionKind::kString, "<clusterName>", "only this cluster"}},
       cluster_list},
      {"topicRoute",
       "show the route of a topic: queue datas and broker datas",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true}},
       topic_route},
      {"updateTopic",
       "create or update a topic on one broker (-b) or on every master of a cluster (-c)",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true},
        {"clusterName", 'c', OptionKind::kString, "<clusterName>", "every master of this cluster"},
        {"brokerAddr", 'b', OptionKind::kString, "<host:port>", "this broker"},
        {"readQueueNums", 'r', OptionKind::kInt, "<n>", "read queues (default 8)"},
        {"writeQueueNums", 'w', OptionKind::kInt, "<n>", "write queues (default 8)"},
        {"perm", 'p', OptionKind::kInt, "<perm>", "2 write, 4 read, 6 both (default 6)"},
        {"order", 'o', OptionKind::kString, "<true|false>", "ordered topic (default false)"}},
       update_topic},
      {"deleteTopic",
       "delete a topic from every master of a cluster",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true},
        {"clusterName", 'c', OptionKind::kString, "<clusterName>", "cluster", true}},
       delete_topic},
      {"topicList",
       "list the topics of every master (of one cluster with -c)",
       {{"clusterName", 'c', OptionKind::kString, "<clusterName>", "only this cluster"}},
       topic_list},
      {"topicStatus",
       "min and max offset of every queue of a topic",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true}},
       topic_status},
      {"updateSubGroup",
       "create or update a consumer group's config on one broker (-b) or on every master of a "
       "cluster (-c); options not given take RocketMQ's defaults",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true},
        {"clusterName", 'c', OptionKind::kString, "<clusterName>", "every master of this cluster"},
        {"brokerAddr", 'b', OptionKind::kString, "<host:port>", "this broker"},
        {"retryMaxTimes", 'r', OptionKind::kInt, "<n>",
         "consumes before a failed message goes to %DLQ%<group> (default 16)"},
        {"retryQueueNums", 'q', OptionKind::kInt, "<n>",
         "queues of %RETRY%<group>; 0 drops failed messages (default 1)"},
        {"consumeEnable", 's', OptionKind::kString, "<true|false>", "default true"},
        {"consumeBroadcastEnable", 'd', OptionKind::kString, "<true|false>", "default true"}},
       update_sub_group},
      {"deleteSubGroup",
       "delete a consumer group's config, and its offsets unless --cleanOffset false, from one "
       "broker (-b) or every master of a cluster (-c)",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true},
        {"clusterName", 'c', OptionKind::kString, "<clusterName>", "every master of this cluster"},
        {"brokerAddr", 'b', OptionKind::kString, "<host:port>", "this broker"},
        {"cleanOffset", '\0', OptionKind::kString, "<true|false>",
         "also remove the group's consume offsets (default true)"}},
       delete_sub_group},
      {"subGroupList",
       "list the consumer group configs of every master (of one cluster with -c)",
       {{"clusterName", 'c', OptionKind::kString, "<clusterName>", "only this cluster"}},
       sub_group_list},
      {"consumerProgress",
       "per-queue offsets and lag of a consumer group, its retry and DLQ depth, and its online "
       "clients",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true},
        {"topic", 't', OptionKind::kString, "<topic>",
         "only this topic (default: every topic the group committed offsets for)"}},
       consumer_progress},
      {"consumerConnection",
       "the online members of a consumer group: client id, address, language, version, then "
       "its subscriptions, consume type, message model and where it starts consuming",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true}},
       consumer_connection},
      {"producerConnection",
       "the online members of a producer group on the masters of a topic",
       {{"producerGroup", 'g', OptionKind::kString, "<group>", "producer group", true},
        {"topic", 't', OptionKind::kString, "<topic>", "topic the group sends to", true}},
       producer_connection},
      {"brokerStatus",
       "runtime information of one broker (-b) or of every broker of a cluster (-c)",
       {{"brokerAddr", 'b', OptionKind::kString, "<host:port>", "this broker"},
        {"clusterName", 'c', OptionKind::kString, "<clusterName>", "every broker of this cluster"}},
       broker_status},
      {"haStatus",
       "replication of a broker group: role, epoch and log end of each broker, each slave's acked "
       "offset and lag",
       {{"brokerName", 'b', OptionKind::kString, "<brokerName>", "broker group", true}},
       ha_status},
      {"dledgerStatus",
       "a DLedger group: each member's role, term, commit and last index, and the leader's view "
       "of every member",
       {{"brokerName", 'b', OptionKind::kString, "<brokerName>", "broker group", true}},
       dledger_status},
      {"transferLeader",
       "failover drill: the DLedger leader hands leadership to another member",
       {{"brokerName", 'b', OptionKind::kString, "<brokerName>", "broker group", true},
        {"targetId", 't', OptionKind::kString, "<selfId>", "the member to lead (n1, ...)", true}},
       transfer_leader},
      {"promoteSlave",
       "failover drill: make a slave the master of its group under a new epoch",
       {{"brokerName", 'b', OptionKind::kString, "<brokerName>", "broker group", true},
        {"brokerId", 'i', OptionKind::kInt, "<id>", "the slave's brokerId", true},
        {"role", '\0', OptionKind::kString, "<role>",
         "ASYNC_MASTER or SYNC_MASTER (default: what its master was)"}},
       promote_slave},
      {"transactionList",
       "the open transactions (half messages not yet committed or rolled back) of every master "
       "(of one cluster with -c, or one broker with -b), oldest first, with age and check count",
       {{"clusterName", 'c', OptionKind::kString, "<clusterName>", "only this cluster"},
        {"brokerAddr", 'b', OptionKind::kString, "<host:port>", "only this broker"},
        {"producerGroup", 'g', OptionKind::kString, "<group>", "only this producer group"},
        {"limit", 'l', OptionKind::kInt, "<n>", "at most this many per broker (default 100)"}},
       transaction_list},
      {"sendMessage",
       "send one message",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true},
        {"body", 'p', OptionKind::kString, "<body>", "message body", true},
        {"keys", 'k', OptionKind::kString, "<keys>", "message keys"},
        {"tags", 'c', OptionKind::kString, "<tags>", "message tag"},
        {"brokerName", 'b', OptionKind::kString, "<brokerName>",
         "send to this broker (default: the producer picks)"},
        {"qid", 'i', OptionKind::kInt, "<queueId>",
         "send to this queue (default: the producer picks one)"}},
       send_message},
      {"consumeMessage",
       "read messages from a topic (every readable queue unless -b / -i)",
       {{"topic", 't', OptionKind::kString, "<topic>", "topic name", true},
        {"brokerName", 'b', OptionKind::kString, "<brokerName>", "only this broker"},
        {"qid", 'i', OptionKind::kInt, "<queueId>", "only this queue id"},
        {"offset", 'o', OptionKind::kInt, "<offset>", "start offset (default: each queue's min)"},
        {"count", 'c', OptionKind::kInt, "<n>", "messages to read in total (default 32)"},
        {"subExpression", 's', OptionKind::kString, "<expr>",
         "tag filter, 'TagA || TagB' (default *)"},
        {"wait-ms", '\0', OptionKind::kInt, "<ms>",
         "long-poll a queue that has no more messages for up to this long (default 0)"}},
       consume_message},
      {"updateConsumerOffset",
       "set a consumer group's committed offset of one queue",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true},
        {"topic", 't', OptionKind::kString, "<topic>", "topic name", true},
        {"brokerName", 'b', OptionKind::kString, "<brokerName>", "broker", true},
        {"qid", 'i', OptionKind::kInt, "<queueId>", "queue id", true},
        {"offset", 'o', OptionKind::kInt, "<offset>", "offset to commit", true}},
       update_consumer_offset},
      {"resendDlq",
       "resend a consumer group's dead letters (%DLQ%<group>) to the topics they failed on, from "
       "the group's resend position on (each once), or one message by id",
       {{"groupName", 'g', OptionKind::kString, "<group>", "consumer group", true},
        {"msgId", 'i', OptionKind::kString, "<msgId>",
         "only this message (its msgId as consumeMessage shows it); the resend position moves "
         "only when it is the message at it"}},
       resend_dlq},
  };
  return kCommands;
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const std::vector<OptionSpec>& common_options() {
  static const std::vector<OptionSpec> kCommon = {
      {"namesrvAddr", 'n', OptionKind::kString, "<addr>",
       "name server address(es), 'host:port;host:port' (default: $COMET_NAMESRV_ADDR or "
       "127.0.0.1:9876)"},
      {"json", '\0', OptionKind::kFlag, "", "print JSON instead of a table"},
      {"timeout-ms", '\0', OptionKind::kInt, "<ms>", "timeout of each request (default 5000)"},
      {"help", 'h', OptionKind::kFlag, "", "print this help"},
  };
  return kCommon;
}

}  // namespace comet::admin

// The handlers of comet-admin's commands, one family per file; registry.cc maps names to them.
#pragma once

#include "admin/command.h"

namespace comet::admin {

// cluster_commands.cc
int cluster_list(Context& c);
int topic_route(Context& c);
int broker_status(Context& c);

// topic_commands.cc
int update_topic(Context& c);
int delete_topic(Context& c);
int topic_list(Context& c);
int topic_status(Context& c);

// group_commands.cc
int update_sub_group(Context& c);
int sub_group_list(Context& c);
int delete_sub_group(Context& c);

// connection_commands.cc
int consumer_connection(Context& c);
int producer_connection(Context& c);

// message_commands.cc
int send_message(Context& c);
int consume_message(Context& c);

// query_commands.cc
int query_msg_by_id(Context& c);
int query_msg_by_key(Context& c);
int query_msg_by_unique_key(Context& c);
int query_msg_by_offset(Context& c);
int view_message(Context& c);

// offset_commands.cc
int consumer_progress(Context& c);
int update_consumer_offset(Context& c);

// reset_commands.cc
int reset_offset_by_time(Context& c);

// dlq_commands.cc
int resend_dlq(Context& c);

// transaction_commands.cc
int transaction_list(Context& c);

// replication_commands.cc
int ha_status(Context& c);
int promote_slave(Context& c);
int dledger_status(Context& c);
int transfer_leader(Context& c);

}  // namespace comet::admin

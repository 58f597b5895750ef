// Delayed messages (SCHEDULE_TOPIC_XXXX) and timer messages (rmq_sys_wheel_timer) wait in a
// system topic with their real topic and queue kept in REAL_TOPIC and REAL_QID. When one falls
// due, its record is turned back into the message it stands for.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/record_codec.h"
#include "common/status.h"

namespace comet::broker {

// The message `r` stands for, in its real topic and queue, without the properties in `drop`
// (the scheduling ones, REAL_TOPIC and REAL_QID among them). Its properties are written to
// `properties`, which must outlive the message. kCorruption, naming `kind` ("schedule",
// "timer"), for a record without a legal REAL_TOPIC and REAL_QID.
Result<Message> real_message_of(const RecordView& r, std::string_view kind,
                                std::initializer_list<std::string_view> drop,
                                std::string& properties);

}  // namespace comet::broker

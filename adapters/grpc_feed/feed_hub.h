// The feed's wake-up hub: a TopicHub whose topics are agency ids.
#pragma once

#include "broker/common/topic_hub.h"

namespace hart::grpc_feed {

using FeedHub = ::hart::TopicHub;

}  // namespace hart::grpc_feed

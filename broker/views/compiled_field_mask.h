// A field mask resolved once against its message type: merging with it gives
// exactly what google::protobuf::util::FieldMaskUtil::MergeMessageTo gives
// with default options, without splitting the paths and looking every field
// up by name on each call. A field view is applied to every delivery an
// agency receives; parsing its paths each time was most of that cost.
//
// Immutable after Compile; safe to share between threads.
#pragma once

#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace hart {

class CompiledFieldMask {
 public:
  CompiledFieldMask() = default;  // the empty mask: merges nothing

  // `mask`'s paths resolved against `type`. As FieldMaskUtil does, a path
  // inside one already covered is redundant, and a path naming no field (or
  // a sub-field of a field that is not a singular message) is ignored: the
  // config loader refuses such views before they get here.
  static CompiledFieldMask Compile(const google::protobuf::Descriptor *type,
                                   const google::protobuf::FieldMask &mask);

  // Merges the fields of `source` the mask covers into `destination` (same
  // type): singular fields are set (cleared when unset in `source`),
  // messages merged, repeated fields appended.
  void MergeMessageTo(const google::protobuf::Message &source,
                      google::protobuf::Message *destination) const;

 private:
  struct Node {
    const google::protobuf::FieldDescriptor *field = nullptr;
    bool whole = true;  // else only `children` (which may all have been ignored)
    std::vector<Node> children;
  };
  static void Merge(const std::vector<Node> &nodes, const google::protobuf::Message &source,
                    google::protobuf::Message *destination);
  static void CopyField(const google::protobuf::FieldDescriptor *field,
                        const google::protobuf::Message &source,
                        google::protobuf::Message *destination);

  std::vector<Node> roots_;
};

}  // namespace hart

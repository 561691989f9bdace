#include "broker/views/compiled_field_mask.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"

namespace hart {

namespace pb = google::protobuf;

namespace {

// The paths as a tree of names, normalised as FieldMaskUtil's tree is: a
// leaf covers everything below it.
struct NameNode {
  std::map<std::string, std::unique_ptr<NameNode>> children;
};

void AddPath(NameNode &root, const std::string &path) {
  NameNode *node = &root;
  bool new_branch = false;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (!new_branch && node != &root && node->children.empty()) return;  // already covered
    std::unique_ptr<NameNode> &child = node->children[std::string(part)];
    if (child == nullptr) {
      child = std::make_unique<NameNode>();
      new_branch = true;
    }
    node = child.get();
  }
  node->children.clear();  // the whole field from here on
}

}  // namespace

CompiledFieldMask CompiledFieldMask::Compile(const pb::Descriptor *type,
                                             const pb::FieldMask &mask) {
  NameNode names;
  for (const std::string &path : mask.paths()) {
    if (!path.empty()) AddPath(names, path);
  }
  // Resolved in the tree's (name) order, as FieldMaskUtil merges.
  struct Resolver {
    static std::vector<Node> Resolve(const pb::Descriptor *type, const NameNode &names) {
      std::vector<Node> nodes;
      for (const auto &[name, child] : names.children) {
        const pb::FieldDescriptor *field = type->FindFieldByName(name);
        if (field == nullptr) continue;
        Node node{field, true, {}};
        if (!child->children.empty()) {
          if (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
            continue;
          }
          node.whole = false;
          node.children = Resolve(field->message_type(), *child);
        }
        nodes.push_back(std::move(node));
      }
      return nodes;
    }
  };
  CompiledFieldMask compiled;
  compiled.roots_ = Resolver::Resolve(type, names);
  return compiled;
}

void CompiledFieldMask::MergeMessageTo(const pb::Message &source, pb::Message *destination) const {
  Merge(roots_, source, destination);
}

void CompiledFieldMask::Merge(const std::vector<Node> &nodes, const pb::Message &source,
                              pb::Message *destination) {
  const pb::Reflection *from = source.GetReflection();
  const pb::Reflection *to = destination->GetReflection();
  for (const Node &node : nodes) {
    if (node.whole) {
      CopyField(node.field, source, destination);
    } else {
      // As FieldMaskUtil: the sub-message is created even if `source` has none.
      Merge(node.children, from->GetMessage(source, node.field),
            to->MutableMessage(destination, node.field));
    }
  }
}

void CompiledFieldMask::CopyField(const pb::FieldDescriptor *field, const pb::Message &source,
                                  pb::Message *destination) {
  const pb::Reflection *from = source.GetReflection();
  const pb::Reflection *to = destination->GetReflection();
  using F = pb::FieldDescriptor;
  if (field->is_repeated()) {
    const int size = from->FieldSize(source, field);
    for (int i = 0; i < size; ++i) {
      switch (field->cpp_type()) {
        case F::CPPTYPE_INT32:
          to->AddInt32(destination, field, from->GetRepeatedInt32(source, field, i));
          break;
        case F::CPPTYPE_INT64:
          to->AddInt64(destination, field, from->GetRepeatedInt64(source, field, i));
          break;
        case F::CPPTYPE_UINT32:
          to->AddUInt32(destination, field, from->GetRepeatedUInt32(source, field, i));
          break;
        case F::CPPTYPE_UINT64:
          to->AddUInt64(destination, field, from->GetRepeatedUInt64(source, field, i));
          break;
        case F::CPPTYPE_DOUBLE:
          to->AddDouble(destination, field, from->GetRepeatedDouble(source, field, i));
          break;
        case F::CPPTYPE_FLOAT:
          to->AddFloat(destination, field, from->GetRepeatedFloat(source, field, i));
          break;
        case F::CPPTYPE_BOOL:
          to->AddBool(destination, field, from->GetRepeatedBool(source, field, i));
          break;
        case F::CPPTYPE_ENUM:
          to->AddEnumValue(destination, field, from->GetRepeatedEnumValue(source, field, i));
          break;
        case F::CPPTYPE_STRING:
          to->AddString(destination, field, from->GetRepeatedString(source, field, i));
          break;
        case F::CPPTYPE_MESSAGE:
          to->AddMessage(destination, field)->MergeFrom(from->GetRepeatedMessage(source, field, i));
          break;
      }
    }
    return;
  }
  if (field->cpp_type() == F::CPPTYPE_MESSAGE) {
    if (from->HasField(source, field)) {
      to->MutableMessage(destination, field)->MergeFrom(from->GetMessage(source, field));
    }
    return;
  }
  if (!from->HasField(source, field)) {
    to->ClearField(destination, field);
    return;
  }
  switch (field->cpp_type()) {
    case F::CPPTYPE_INT32:
      to->SetInt32(destination, field, from->GetInt32(source, field));
      break;
    case F::CPPTYPE_INT64:
      to->SetInt64(destination, field, from->GetInt64(source, field));
      break;
    case F::CPPTYPE_UINT32:
      to->SetUInt32(destination, field, from->GetUInt32(source, field));
      break;
    case F::CPPTYPE_UINT64:
      to->SetUInt64(destination, field, from->GetUInt64(source, field));
      break;
    case F::CPPTYPE_DOUBLE:
      to->SetDouble(destination, field, from->GetDouble(source, field));
      break;
    case F::CPPTYPE_FLOAT:
      to->SetFloat(destination, field, from->GetFloat(source, field));
      break;
    case F::CPPTYPE_BOOL:
      to->SetBool(destination, field, from->GetBool(source, field));
      break;
    case F::CPPTYPE_ENUM:
      to->SetEnumValue(destination, field, from->GetEnumValue(source, field));
      break;
    case F::CPPTYPE_STRING:
      to->SetString(destination, field, from->GetString(source, field));
      break;
    case F::CPPTYPE_MESSAGE:
      break;  // above
  }
}

}  // namespace hart

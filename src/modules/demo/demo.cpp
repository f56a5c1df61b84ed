#include "modules/demo/demo.h"

#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <string_view>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/crypto/crypto.h"
#include "platform/search/tokens.h"

namespace custos::demo {
namespace {

constexpr int64_t kOrg = 1;
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMinute = 60'000;
constexpr int kRowsPerStatement = 200;
constexpr int kRowsPerTransaction = 5000;

// ---- the organisation ------------------------------------------------------------------------

struct DeptSpec {
  const char* code;
  const char* name;
  const char* parent;  // code, or "" for the top level
  const char* kind;
};

constexpr DeptSpec kDepartments[] = {
    {"HQ", "滨江医院", "", "normal"},        {"YB", "院长办公室", "HQ", "president_office"},
    {"XX", "信息管理部", "HQ", "it"},        {"CW", "财务部", "HQ", "finance"},
    {"RS", "行政人事部", "HQ", "admin_hr"},  {"MZ", "门诊部", "HQ", "normal"},
    {"ZY", "住院部", "HQ", "normal"},        {"ZY-NK", "内科病区", "ZY", "normal"},
    {"ZY-WK", "外科病区", "ZY", "normal"},   {"KF", "客户服务中心", "HQ", "normal"},
    {"KF-QT", "前台服务组", "KF", "normal"}, {"KF-TS", "投诉受理组", "KF", "normal"},
    {"HQB", "后勤保障部", "HQ", "normal"},   {"HQB-WX", "维修班", "HQB", "normal"},
    {"HQB-BJ", "保洁组", "HQB", "normal"},
};

struct StaffSpec {
  const char* username;
  const char* name;
  const char* dept;
  const char* role;  // service_desk | registry_manager
  bool head;         // heads their department
};

constexpr StaffSpec kStaff[] = {
    {"kf.zhou", "周婷", "KF", "registry_manager", true},
    {"kf.wang", "王雪", "KF-QT", "service_desk", true},
    {"kf.li", "李娜", "KF-QT", "service_desk", false},
    {"kf.zhao", "赵敏", "KF-QT", "service_desk", false},
    {"kf.chen", "陈静", "KF-QT", "service_desk", false},
    {"ts.liu", "刘洋", "KF-TS", "service_desk", true},
    {"ts.huang", "黄丽", "KF-TS", "service_desk", false},
    {"hq.sun", "孙强", "HQB", "service_desk", true},
    {"wx.ma", "马军", "HQB-WX", "service_desk", true},
    {"wx.zhu", "朱磊", "HQB-WX", "service_desk", false},
    {"wx.hu", "胡斌", "HQB-WX", "service_desk", false},
    {"wx.guo", "郭勇", "HQB-WX", "service_desk", false},
    {"bj.he", "何秀英", "HQB-BJ", "service_desk", true},
    {"bj.gao", "高桂兰", "HQB-BJ", "service_desk", false},
    {"mz.lin", "林芳", "MZ", "service_desk", true},
    {"mz.luo", "罗晨", "MZ", "service_desk", false},
    {"zy.zheng", "郑华", "ZY", "service_desk", true},
    {"nk.liang", "梁玉", "ZY-NK", "service_desk", true},
    {"wk.xie", "谢刚", "ZY-WK", "service_desk", true},
    {"xx.song", "宋宇", "XX", "registry_manager", true},
    {"yb.tang", "唐建国", "YB", "registry_manager", true},
    {"cw.xu", "许萍", "CW", "service_desk", true},
    {"rs.han", "韩梅", "RS", "service_desk", true},
};

// ---- text pools ------------------------------------------------------------------------------

constexpr std::string_view kSurnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄",   "赵",   "吴",  "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑",   "梁",   "谢",  "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "肖", "田", "董",   "袁",   "潘",  "于", "蒋", "蔡", "余", "杜",
    "叶", "程", "苏", "魏", "吕", "丁", "任",   "沈",   "姚",  "卢", "姜", "崔", "钟", "谭",
    "陆", "汪", "范", "金", "石", "廖", "贾",   "夏",   "韦",  "付", "方", "白", "邹", "孟",
    "熊", "秦", "邱", "江", "尹", "薛", "闫",   "段",   "雷",  "侯", "龙", "史", "陶", "黎",
    "贺", "顾", "毛", "郝", "龚", "邵", "欧阳", "司马", "诸葛"};
constexpr std::string_view kGiven[] = {
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "华", "玉", "萍", "红", "梅", "鑫",
    "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "欣", "悦",
    "佳", "琪", "思", "雨", "涵", "子", "轩", "梓", "萱", "诺", "雅", "婷", "晨", "曦", "博",
    "文", "建", "国", "志", "海", "春", "秋", "冬", "晓", "燕", "丹", "琳", "慧", "颖", "倩"};

struct Region {
  const char* code;
  const char* city;
  const char* district;
};
constexpr Region kRegions[] = {{"330106", "杭州市", "西湖区"},   {"330108", "杭州市", "滨江区"},
                               {"330105", "杭州市", "拱墅区"},   {"330110", "杭州市", "余杭区"},
                               {"310115", "上海市", "浦东新区"}, {"110105", "北京市", "朝阳区"},
                               {"320102", "南京市", "玄武区"},   {"440305", "深圳市", "南山区"},
                               {"510104", "成都市", "锦江区"},   {"420106", "武汉市", "武昌区"}};
constexpr std::string_view kRoads[] = {"江南大道", "滨盛路",   "长河路", "江虹路", "西兴路",
                                       "春晓路",   "白马湖路", "闻涛路", "丹枫路", "月明路",
                                       "东信大道", "建业路",   "秋溢路", "信诚路"};
constexpr std::string_view kCommunities[] = {"江南明珠小区", "滨江花园", "春江名城", "星耀城",
                                             "东方郡",       "钱塘春晓", "白金海岸", "金色江南",
                                             "湘湖人家",     "锦绣江南", "阳光郡",   "绿城蓝庭"};
constexpr std::string_view kOrgWords[] = {"华信", "恒通", "博远", "安泰", "新锐", "瑞丰",
                                          "鼎盛", "汇智", "中和", "长青", "云启", "嘉禾"};
constexpr std::string_view kOrgKinds[] = {"科技有限公司",     "贸易有限公司",
                                          "物业管理有限公司", "餐饮管理有限公司",
                                          "建筑工程有限公司", "文化传媒有限公司"};
constexpr std::string_view kTags[] = {"业主",   "租户",     "VIP",    "医保",    "老年人",
                                      "新客户", "长期客户", "孕产妇", "残障人士"};
constexpr std::string_view kSources[] = {"前台登记", "电话登记", "微信公众号",
                                         "网站预约", "批量导入", "上门走访"};

struct Template {
  const char* title;  // {loc} is replaced with a place
  const char* description;
};
// By request type code.
const std::map<std::string, std::vector<Template>>& templates() {
  static const std::map<std::string, std::vector<Template>> t = {
      {"repair",
       {{"{loc}卫生间漏水", "住户反映{loc}卫生间天花板渗水，地面有积水，请尽快安排维修。"},
        {"楼上卫生间漏水", "{loc}住户反映楼上卫生间漏水，墙面已经发霉，要求联系楼上住户并维修。"},
        {"{loc}空调不制冷", "{loc}空调开机后只吹风不制冷，已经持续两天，影响休息。"},
        {"{loc}电灯不亮", "{loc}顶灯不亮，更换灯泡后仍然不亮，怀疑线路故障。"},
        {"{loc}门锁损坏", "{loc}门锁无法正常锁闭，钥匙插入后转不动。"},
        {"{loc}水管爆裂", "{loc}厨房水管爆裂，已关闭总阀，急需维修。"},
        {"电梯异响", "{loc}附近电梯运行时有明显异响，乘客担心安全，请检修。"},
        {"{loc}下水道堵塞", "{loc}下水道堵塞，污水返流，气味很大。"},
        {"{loc}插座没电", "{loc}墙面插座没电，其他房间正常。"},
        {"{loc}热水器不出热水", "{loc}热水器点火后很快熄灭，不出热水。"},
        {"{loc}窗户关不严", "{loc}窗户关不严，下雨时雨水会渗进来。"}}},
      {"complaint",
       {{"投诉{loc}服务态度差", "客户投诉{loc}工作人员服务态度生硬，要求道歉并改进。"},
        {"投诉夜间施工噪音", "{loc}附近夜间施工噪音很大，影响休息，多次反映无果。"},
        {"投诉挂号排队时间过长", "客户反映门诊挂号排队超过一小时，自助机故障无人处理。"},
        {"投诉停车收费不合理", "客户认为停车场收费标准与公示不一致，要求核实退费。"},
        {"投诉保洁不及时", "{loc}楼道垃圾堆积两天无人清理，气味难闻。"},
        {"投诉维修人员未按时上门", "约定的维修时间已过，维修人员未到也未通知，{loc}住户不满。"}}},
      {"inquiry",
       {{"咨询物业费缴纳方式", "客户咨询物业费是否可以通过微信缴纳，以及发票开具方式。"},
        {"咨询门诊挂号流程", "客户咨询专家号的预约方式和退号规则。"},
        {"咨询停车月卡办理", "客户咨询停车月卡的办理条件、费用和所需材料。"},
        {"咨询医保报销范围", "客户咨询住院费用中哪些项目可以医保报销。"},
        {"咨询体检套餐", "客户咨询入职体检套餐的项目和价格。"},
        {"咨询装修申请手续", "{loc}业主咨询装修申请需要提交的材料和押金标准。"}}},
      {"appointment",
       {{"预约专家门诊", "客户预约下周三上午的专家门诊，需要安排导诊。"},
        {"预约上门保洁", "{loc}预约周末上门保洁服务，约两小时。"},
        {"预约家电清洗", "{loc}预约空调和油烟机清洗。"},
        {"预约入户维修", "{loc}预约工作日下午入户检修线路。"},
        {"预约体检", "客户预约本月的年度体检，需要空腹项目安排在上午。"}}},
  };
  return t;
}

constexpr const char* kHospitalPlaces[] = {"门诊楼", "住院部", "急诊楼", "医技楼", "行政楼"};
constexpr const char* kChannels[] = {"phone", "walk_in", "web", "wechat", "email"};
constexpr int kChannelWeights[] = {40, 20, 10, 25, 5};
constexpr const char* kFeedbackComments[] = {"处理及时，非常满意",
                                             "师傅很专业",
                                             "态度很好",
                                             "速度有点慢",
                                             "问题没有彻底解决",
                                             "还可以",
                                             "希望以后能提前电话通知",
                                             ""};

// ---- generation ------------------------------------------------------------------------------

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int64_t between(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <class T, size_t N>
  const T& pick(const T (&a)[N]) {
    return a[static_cast<size_t>(between(0, N - 1))];
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(between(0, static_cast<int64_t>(v.size()) - 1))];
  }
  template <size_t N>
  size_t weighted(const int (&w)[N]) {
    int total = 0;
    for (int x : w) total += x;
    int r = static_cast<int>(between(0, total - 1));
    for (size_t i = 0; i < N; ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return N - 1;
  }

  std::string person_name() {
    std::string n(pick(kSurnames));
    n += pick(kGiven);
    if (chance(0.7)) n += pick(kGiven);
    return n;
  }
  std::string organisation_name(const Region& r) {
    std::string city = r.city;
    city = city.substr(0, city.size() - 3);  // 杭州市 -> 杭州
    return city + std::string(pick(kOrgWords)) + std::string(pick(kOrgKinds));
  }
  std::string mobile() {
    static constexpr const char* prefixes[] = {"130", "131", "132", "133", "135", "136", "137",
                                               "138", "139", "150", "151", "152", "155", "156",
                                               "157", "158", "159", "177", "180", "181", "182",
                                               "183", "186", "187", "188", "189", "199"};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%08lld", pick(prefixes),
                  static_cast<long long>(between(0, 99'999'999)));
    return buf;
  }
  // GB 11643: region, birth date, sequence (odd: male), check character.
  std::string id_card(const Region& r) {
    char body[18];
    std::snprintf(body, sizeof body, "%s%04lld%02lld%02lld%03lld", r.code,
                  static_cast<long long>(between(1940, 2006)),
                  static_cast<long long>(between(1, 12)), static_cast<long long>(between(1, 28)),
                  static_cast<long long>(between(1, 999)));
    static constexpr int weights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * weights[i];
    return std::string(body, 17) + "10X98765432"[sum % 11];
  }
  std::string address(const Region& r) {
    return std::string(r.city) + r.district + std::string(pick(kRoads)) +
           std::to_string(between(1, 999)) + "号" + std::string(pick(kCommunities)) +
           std::to_string(between(1, 30)) + "幢" + std::to_string(between(1, 4)) + "单元" +
           std::to_string(between(1, 33)) + (between(0, 1) ? "01" : "02") + "室";
  }
  std::string place() {
    if (chance(0.6))
      return std::to_string(between(1, 30)) + "幢" + std::to_string(between(1, 4)) + "单元" +
             std::to_string(between(1, 33)) + "0" + std::to_string(between(1, 4)) + "室";
    return std::string(pick(kHospitalPlaces)) + std::to_string(between(1, 12)) + "楼";
  }

 private:
  std::mt19937_64 rng_;
};

std::string fill(std::string text, const std::string& loc) {
  for (size_t at; (at = text.find("{loc}")) != std::string::npos;) text.replace(at, 5, loc);
  return text;
}

// INSERT … VALUES (…), (…) in statements of kRowsPerStatement rows; flush() sends the rest.
class BulkInsert {
 public:
  BulkInsert(db::Tx& tx, std::string head, std::string row_template)
      : tx_(tx), head_(std::move(head)), row_(std::move(row_template)) {}
  void add(std::vector<db::Value> row) {
    for (auto& v : row) params_.push_back(std::move(v));
    if (++rows_ == kRowsPerStatement) flush();
  }
  void flush() {
    if (rows_ == 0) return;
    std::string sql = head_ + " VALUES ";
    for (int i = 0; i < rows_; ++i) sql += (i ? ", " : "") + row_;
    tx_.query(sql, std::span<const db::Value>(params_));
    params_.clear();
    rows_ = 0;
  }

 private:
  db::Tx& tx_;
  std::string head_, row_;
  std::vector<db::Value> params_;
  int rows_ = 0;
};

std::string placeholders(int n) {
  std::string s = "(";
  for (int i = 0; i < n; ++i) s += i ? ", ?" : "?";
  return s + ")";
}

int64_t next_id(db::Tx& tx, const char* table) {
  return db::as_int(tx.one(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + table, {})->at(0)) +
         1;
}

// PostgreSQL's identity sequence after rows were inserted with explicit ids.
void sync_sequence(db::Tx& tx, const char* table) {
  if (tx.engine() != db::Engine::postgres) return;
  tx.query(std::string("SELECT setval(pg_get_serial_sequence('") + table +
               "', 'id'), (SELECT MAX(id) FROM " + table + "))",
           {});
}

void put_tokens(db::Tx& tx, const char* table,
                const std::vector<std::pair<int64_t, std::string>>& rows) {
  if (rows.empty()) return;
  if (tx.engine() == db::Engine::sqlite) {
    BulkInsert fts(tx, std::string("INSERT INTO ") + table + "_fts (rowid, tokens)", "(?, ?)");
    for (const auto& [id, text] : rows) fts.add({id, search::joined(search::index_tokens(text))});
    fts.flush();
    return;
  }
  // One UPDATE … FROM (VALUES …) per statement-sized slice.
  for (size_t i = 0; i < rows.size(); i += kRowsPerStatement) {
    std::string sql = std::string("UPDATE ") + table +
                      " AS t SET search_tokens = CAST(v.tokens AS TEXT[]) FROM (VALUES ";
    std::vector<db::Value> params;
    for (size_t j = i; j < rows.size() && j < i + kRowsPerStatement; ++j) {
      sql += (j > i ? ", " : "") + std::string("(CAST(? AS BIGINT), ?)");
      params.emplace_back(rows[j].first);
      params.emplace_back(search::pg_array(search::index_tokens(rows[j].second)));
    }
    sql += ") AS v(id, tokens) WHERE t.id = v.id";
    tx.query(sql, std::span<const db::Value>(params));
  }
}

struct Org {
  std::map<std::string, int64_t> dept;                   // code -> id
  std::map<std::string, std::vector<int64_t>> staff_of;  // dept code -> user ids
  std::vector<int64_t> desk;  // front-desk and complaint staff: customer owners
};

Org load_org(db::Tx& tx) {
  Org o;
  for (const auto& r : tx.query("SELECT code, id FROM departments WHERE org_id = ?", {kOrg}).rows)
    o.dept[db::as_text(r[0])] = db::as_int(r[1]);
  for (const auto& s : kStaff) {
    auto u = tx.one("SELECT id FROM users WHERE org_id = ? AND username = ?",
                    {kOrg, std::string(s.username)});
    if (!u) continue;
    o.staff_of[s.dept].push_back(db::as_int(u->at(0)));
    if (std::string_view(s.dept).starts_with("KF")) o.desk.push_back(db::as_int(u->at(0)));
  }
  return o;
}

bool structure_exists(db::Tx& tx) {
  return tx.one("SELECT 1 FROM departments WHERE org_id = ? AND code = 'KF'", {kOrg}).has_value();
}

// Departments, posts, staff with roles and clearance, heads. Returns the staff password.
std::string create_structure(db::Tx& tx, int64_t now, Result& result) {
  std::map<std::string, std::pair<int64_t, std::string>> made;  // code -> id, path
  for (const auto& d : kDepartments) {
    std::string parent_path = "/";
    db::Value parent = db::null();
    if (*d.parent) {
      const auto& p = made.at(d.parent);
      parent = p.first;
      parent_path = p.second;
    }
    auto r = tx.one(
        "INSERT INTO departments (org_id, code, name, parent_id, kind, path, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, '', ?, ?) RETURNING id",
        {kOrg, std::string(d.code), std::string(d.name), parent, std::string(d.kind), now, now});
    const int64_t id = db::as_int(r->at(0));
    const std::string path = parent_path + std::to_string(id) + "/";
    tx.exec("UPDATE departments SET path = ? WHERE id = ?", {path, id});
    made[d.code] = {id, path};
    ++result.departments;
  }
  auto post = tx.one(
      "INSERT INTO posts (org_id, code, name, approval_authority, created_at, updated_at) VALUES "
      "(?, 'dept_head', '部门负责人', 1, ?, ?) RETURNING id",
      {kOrg, now, now});
  const int64_t head_post = db::as_int(post->at(0));
  std::map<std::string, int64_t> role;
  for (const auto& r :
       tx.query("SELECT code, id FROM roles WHERE org_id = ? AND code IN ('service_desk', "
                "'registry_manager')",
                {kOrg})
           .rows)
    role[db::as_text(r[0])] = db::as_int(r[1]);
  const std::string password = crypto::random_token(9);
  const std::string hash = crypto::hash_password(password);
  int n = 0;
  for (const auto& s : kStaff) {
    char employee_no[16];
    std::snprintf(employee_no, sizeof employee_no, "BJ%04d", ++n);
    const int64_t dept = made.at(s.dept).first;
    auto u = tx.one(
        "INSERT INTO users (org_id, username, employee_no, name, email, department_id, "
        "clearance, password_hash, must_change_password, password_changed_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, 2, ?, 0, ?, ?, ?) RETURNING id",
        {kOrg, std::string(s.username), std::string(employee_no), std::string(s.name),
         std::string(s.username) + "@hospital.example.cn", dept, hash, now, now, now});
    const int64_t id = db::as_int(u->at(0));
    tx.exec("INSERT INTO user_roles (org_id, user_id, role_id) VALUES (?, ?, ?)",
            {kOrg, id, role.at(s.role)});
    // The IT department keeps the equipment archive (IT-1 … IT-7).
    if (std::string_view(s.dept) == "XX")
      tx.exec(
          "INSERT INTO user_roles (org_id, user_id, role_id) SELECT ?, ?, id FROM roles WHERE "
          "org_id = ? AND code = 'asset_manager'",
          {kOrg, id, kOrg});
    if (s.head) {
      tx.exec("UPDATE departments SET head_user_id = ? WHERE id = ?", {id, dept});
      tx.exec("INSERT INTO user_posts (org_id, user_id, post_id) VALUES (?, ?, ?)",
              {kOrg, id, head_post});
    }
    ++result.staff;
  }
  return password;
}

// The SLA targets: type id -> priority -> (response, resolve) minutes.
struct Types {
  std::vector<std::pair<int64_t, std::string>> types;  // id, code
  std::vector<int> default_class;
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> sla;
};

Types load_types(db::Tx& tx) {
  Types t;
  for (const auto& r : tx.query("SELECT id, code, default_classification FROM request_types "
                                "WHERE org_id = ? ORDER BY id",
                                {kOrg})
                           .rows) {
    t.types.emplace_back(db::as_int(r[0]), db::as_text(r[1]));
    t.default_class.push_back(static_cast<int>(db::as_int(r[2])));
  }
  for (const auto& r : tx.query("SELECT type_id, priority, response_minutes, resolve_minutes "
                                "FROM sla_targets WHERE org_id = ?",
                                {kOrg})
                           .rows)
    t.sla[{db::as_int(r[0]), db::as_text(r[1])}] = {db::as_int(r[2]), db::as_int(r[3])};
  return t;
}

void add_customers(db::Db& db, const registry::Registry& reg, Gen& g, const Org& org, int64_t count,
                   int64_t now, Result& result) {
  const std::vector<const char*> depts = {"KF", "KF-QT", "KF-TS", "MZ", "ZY"};
  int64_t done = 0;
  while (done < count) {
    const int64_t batch = std::min<int64_t>(kRowsPerTransaction, count - done);
    db.write([&](db::Tx& tx) {
      int64_t id = next_id(tx, "customers");
      std::vector<std::pair<int64_t, std::string>> texts;
      {
        BulkInsert ins(tx,
                       "INSERT INTO customers (org_id, id, kind, name, mobile, mobile_bidx, "
                       "id_card, id_card_bidx, address, email, email_bidx, tags, department_id, "
                       "owner_user_id, classification, source, external_key, stale, "
                       "review_due_at, created_at, updated_at)",
                       placeholders(21));
        for (int64_t i = 0; i < batch; ++i, ++id) {
          const Region& region = g.pick(kRegions);
          const bool person = !g.chance(0.08);
          const std::string name = person ? g.person_name() : g.organisation_name(region);
          registry::Personal clear;
          clear.mobile = g.mobile();
          if (person && g.chance(0.85)) clear.id_card = g.id_card(region);
          clear.address = g.address(region);
          if (g.chance(0.3)) clear.email = "c" + std::to_string(id) + "@mail.example.cn";
          const auto sealed = reg.seal(id, clear);
          boost::json::array tags;
          for (int t = static_cast<int>(g.between(0, 2)); t > 0; --t) {
            std::string tag(g.pick(kTags));
            if (std::find(tags.begin(), tags.end(), boost::json::value(tag)) == tags.end())
              tags.emplace_back(tag);
          }
          const int cls = g.chance(0.05) ? 3 : g.chance(0.1) ? 1 : 2;
          const int64_t created = now - g.between(1, 730) * kDay - g.between(0, kDay - 1);
          const int64_t review_due = created + (cls == 3 ? 90 : cls == 2 ? 180 : 365) * kDay;
          const std::string source(g.pick(kSources));
          std::string tag_text;
          for (const auto& t : tags) tag_text += " " + std::string(t.as_string());
          texts.emplace_back(id, name + " " + source + tag_text);
          char key[16];
          std::snprintf(key, sizeof key, "C%07lld", static_cast<long long>(id));
          ins.add({kOrg,
                   id,
                   std::string(person ? "individual" : "organization"),
                   name,
                   sealed.mobile,
                   sealed.mobile_bidx,
                   sealed.id_card,
                   sealed.id_card_bidx,
                   sealed.address,
                   sealed.email,
                   sealed.email_bidx,
                   boost::json::serialize(tags),
                   org.dept.at(g.pick(depts)),
                   g.pick(org.desk),
                   int64_t{cls},
                   source,
                   std::string(key),
                   int64_t{review_due < now},
                   review_due,
                   created,
                   created});
        }
        ins.flush();
      }
      put_tokens(tx, "customers", texts);
      sync_sequence(tx, "customers");
    });
    done += batch;
    result.customers += batch;
  }
}

void add_requests(db::Db& db, Gen& g, const Org& org, const Types& types, int64_t count,
                  int64_t now, Result& result) {
  // Customers to link to: the id range present (ids are dense from the bulk loads).
  auto range = db.read([&](db::Tx& tx) {
    auto r = tx.one(
        "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM customers WHERE "
        "org_id = ? AND status = 'active'",
        {kOrg});
    return std::pair<int64_t, int64_t>{db::as_int(r->at(0)), db::as_int(r->at(1))};
  });
  static const std::map<std::string, const char*> handler = {
      {"repair", "HQB-WX"}, {"complaint", "KF-TS"}, {"inquiry", "KF-QT"}, {"appointment", "MZ"}};
  constexpr int kTypeWeights[] = {45, 15, 25, 15};
  constexpr const char* kPriorities[] = {"urgent", "high", "normal", "low"};
  constexpr int kPriorityWeights[] = {5, 20, 65, 10};
  int64_t done = 0;
  while (done < count) {
    const int64_t batch = std::min<int64_t>(kRowsPerTransaction, count - done);
    db.write([&](db::Tx& tx) {
      int64_t id = next_id(tx, "service_requests");
      std::vector<std::pair<int64_t, std::string>> texts;
      std::vector<std::vector<db::Value>> feedback;  // after their requests
      {
        BulkInsert ins(
            tx,
            "INSERT INTO service_requests (org_id, id, number, customer_id, type_id, priority, "
            "channel, title, description, status, department_id, assignee_id, owner_user_id, "
            "classification, response_due_at, resolve_due_at, responded_at, resolved_at, "
            "closed_at, response_breached, resolve_breached, external_key, created_at, "
            "updated_at)",
            placeholders(24));
        for (int64_t i = 0; i < batch; ++i, ++id) {
          const size_t ti = std::min(g.weighted(kTypeWeights), types.types.size() - 1);
          const auto& [type_id, type_code] = types.types[ti];
          const std::string priority = kPriorities[g.weighted(kPriorityWeights)];
          const auto& pool =
              templates().count(type_code) ? templates().at(type_code) : templates().at("inquiry");
          const Template& t = g.pick(pool);
          const std::string loc = g.place();
          const std::string title = fill(t.title, loc), description = fill(t.description, loc);
          // Older requests are mostly finished; the last days' are open.
          const int64_t age = g.chance(0.02) ? g.between(0, 3 * kDay) : g.between(0, 365 * kDay);
          const int64_t created = now - age;
          const auto sla = types.sla.count({type_id, priority})
                               ? types.sla.at({type_id, priority})
                               : std::pair<int64_t, int64_t>{240, 2880};
          const int64_t response_due = created + sla.first * kMinute;
          const int64_t resolve_due = created + sla.second * kMinute;
          std::string status;
          if (age < 2 * kDay)
            status = g.chance(0.3) ? "new" : g.chance(0.5) ? "assigned" : "in_progress";
          else
            status = g.chance(0.03) ? "in_progress" : g.chance(0.2) ? "resolved" : "closed";
          const char* dept_code = handler.count(type_code) ? handler.at(type_code) : "KF-QT";
          const auto& staff = org.staff_of.count(dept_code) ? org.staff_of.at(dept_code) : org.desk;
          db::Value assignee = db::null(), responded = db::null(), resolved = db::null(),
                    closed = db::null();
          bool response_breached = false, resolve_breached = false;
          if (status != "new") {
            assignee = g.pick(staff);
            const int64_t resp = std::min(created + g.between(5, sla.first * 2) * kMinute, now);
            responded = resp;
            response_breached = resp > response_due;
          } else {
            response_breached = now > response_due;
          }
          int64_t updated = created;
          if (status == "resolved" || status == "closed") {
            const int64_t res =
                std::min(created + g.between(30, sla.second * 3 / 2) * kMinute, now);
            resolved = res;
            resolve_breached = res > resolve_due;
            updated = res;
            if (status == "closed") {
              closed = std::min(res + g.between(1, 72) * 60 * kMinute, now);
              updated = db::as_int(closed);
            }
          } else {
            resolve_breached = now > resolve_due;
          }
          db::Value customer = db::null();
          if (range.second > 0 && g.chance(0.85)) customer = g.between(range.first, range.second);
          char number[24], key[24];
          std::snprintf(number, sizeof number, "SR%08lld", static_cast<long long>(id));
          std::snprintf(key, sizeof key, "R%08lld", static_cast<long long>(id));
          texts.emplace_back(id, std::string(number) + " " + title + " " + description);
          ins.add({kOrg,
                   id,
                   std::string(number),
                   customer,
                   type_id,
                   priority,
                   std::string(kChannels[g.weighted(kChannelWeights)]),
                   title,
                   description,
                   status,
                   org.dept.at(dept_code),
                   assignee,
                   g.pick(org.desk),
                   int64_t{types.default_class[ti]},
                   response_due,
                   resolve_due,
                   responded,
                   resolved,
                   closed,
                   int64_t{response_breached},
                   int64_t{resolve_breached},
                   std::string(key),
                   created,
                   updated});
          if (status == "closed" && g.chance(0.3)) {
            const int score = static_cast<int>(g.chance(0.7) ? g.between(4, 5) : g.between(1, 3));
            feedback.push_back({kOrg, id, int64_t{score}, std::string(g.pick(kFeedbackComments)),
                                int64_t{score <= 2 && g.chance(0.3)}, db::as_int(closed)});
            ++result.feedback;
          }
        }
        ins.flush();
      }
      BulkInsert fb(tx,
                    "INSERT INTO feedback (org_id, request_id, satisfaction, comment, complaint, "
                    "created_at)",
                    placeholders(6));
      for (auto& row : feedback) fb.add(std::move(row));
      fb.flush();
      put_tokens(tx, "service_requests", texts);
      sync_sequence(tx, "service_requests");
    });
    done += batch;
    result.requests += batch;
  }
}

}  // namespace

// ---- the equipment archive ------------------------------------------------------------------

struct AssetKind {
  const char* category;
  const char* name;
  const char* models[3];
  int64_t cost_yuan;
};
constexpr AssetKind kAssetKinds[] = {
    {"desktop", "办公电脑", {"联想 启天 M437", "戴尔 OptiPlex 7090", "惠普 ProDesk 400"}, 4999},
    {"laptop", "笔记本电脑", {"联想 ThinkPad E14", "华为 MateBook 14", "戴尔 Latitude 5420"}, 6299},
    {"printer", "打印机", {"惠普 LaserJet M1136", "佳能 LBP2900", "兄弟 HL-2260D"}, 1499},
    {"network", "交换机", {"华为 S5735", "H3C S5130", "锐捷 RG-S2910"}, 3200},
    {"server", "服务器", {"浪潮 NF5280M6", "华为 2288H V5", "戴尔 PowerEdge R740"}, 38000},
    {"storage_medium",
     "移动硬盘",
     {"希捷 Backup Plus 2TB", "西部数据 My Passport", "东芝 V10"},
     499},
};
constexpr const char* kAssetStates[] = {"in_use",  "in_stock",         "idle",    "in_repair",
                                        "ordered", "pending_disposal", "scrapped"};
constexpr int kAssetStateWeights[] = {70, 10, 8, 4, 3, 2, 3};

void add_assets(db::Db& db, Gen& g, const Org& org, int64_t count, int64_t now, Result& result) {
  if (count <= 0) return;
  std::vector<std::pair<std::string, int64_t>> staff;  // dept code, user id
  for (const auto& [dept, ids] : org.staff_of)
    for (int64_t id : ids) staff.emplace_back(dept, id);
  const auto it = org.staff_of.find("XX");
  const std::optional<int64_t> repairer = it != org.staff_of.end() && !it->second.empty()
                                              ? std::optional(it->second.front())
                                              : std::nullopt;
  int64_t next = db.read([](db::Tx& tx) {
    return db::as_int(tx.one("SELECT COUNT(*) FROM assets WHERE org_id = ?", {kOrg})->at(0));
  });
  for (int64_t done = 0; done < count;) {
    const int64_t batch = std::min<int64_t>(kRowsPerTransaction, count - done);
    db.write([&](db::Tx& tx) {
      for (int64_t i = 0; i < batch;) {
        const int64_t rows = std::min<int64_t>(kRowsPerStatement / 2, batch - i);
        std::string sql =
            "INSERT INTO assets (org_id, asset_tag, category, name, model, serial, supplier, "
            "location, status, purchase_date, warranty_end, cost_cents, department_id, "
            "custodian_id, repairer_id, created_at, updated_at) VALUES ";
        std::vector<db::Value> params;
        for (int64_t r = 0; r < rows; ++r) {
          const AssetKind& k = g.pick(kAssetKinds);
          const std::string state = kAssetStates[g.weighted(kAssetStateWeights)];
          const auto& [dept, user] = g.pick(staff);
          char tag[24], serial[24], bought[32], warranty[32];
          std::snprintf(tag, sizeof tag, "ZC-%07lld", static_cast<long long>(++next));
          std::snprintf(serial, sizeof serial, "SN%010llX",
                        static_cast<unsigned long long>(g.between(0, 0xFFFFFFFFFFLL)));
          const int year = static_cast<int>(g.between(2018, 2026));
          const int month = static_cast<int>(g.between(1, 12));
          std::snprintf(bought, sizeof bought, "%04d-%02d-%02d", year, month,
                        static_cast<int>(g.between(1, 28)));
          std::snprintf(warranty, sizeof warranty, "%04d-%02d-01", year + 3, month);
          sql += r == 0 ? "" : ", ";
          sql += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
          const bool held = state == "in_use" || state == "in_repair";
          params.insert(params.end(),
                        {kOrg, std::string(tag), std::string(k.category), std::string(k.name),
                         std::string(k.models[g.between(0, 2)]), std::string(serial),
                         std::string("杭州") + std::string(g.pick(kOrgWords)) + "科技有限公司",
                         held ? std::string(g.pick(kRoads)) + "院区 " +
                                    std::to_string(g.between(1, 9)) + " 楼"
                              : std::string("信息管理部仓库"),
                         state, std::string(bought), std::string(warranty),
                         (k.cost_yuan + g.between(-200, 800)) * 100, org.dept.at(dept),
                         held ? db::Value(user) : db::null(),
                         repairer ? db::Value(*repairer) : db::null(), now, now});
          ++result.assets;
        }
        tx.query(sql, params);
        i += rows;
      }
    });
    done += batch;
  }
}

Result load(db::Db& db, const Clock& clock, const registry::Registry& registry,
            const Options& options) {
  Result result;
  const int64_t now = clock.now_ms();
  Gen g(options.seed);
  db.write([&](db::Tx& tx) {
    if (structure_exists(tx)) return;
    result.password = create_structure(tx, now, result);
    result.structure_created = true;
  });
  const Org org = db.read([&](db::Tx& tx) { return load_org(tx); });
  const Types types = db.read([&](db::Tx& tx) { return load_types(tx); });
  const int64_t customers = options.customers >= 0 ? options.customers : options.requests / 5;
  add_customers(db, registry, g, org, customers, now, result);
  add_requests(db, g, org, types, options.requests, now, result);
  add_assets(db, g, org, options.assets >= 0 ? options.assets : options.requests / 10, now, result);
  // Fresh statistics after a bulk load: without them PostgreSQL plans the registry's pages as if
  // the tables were empty until autovacuum gets round to them.
  if (db.engine() == db::Engine::postgres)
    db.write([](db::Tx& tx) {
      for (const char* t : {"customers", "service_requests", "feedback", "assets"})
        tx.exec_script(std::string("ANALYZE ") + t);
    });
  db.write([&](db::Tx& tx) {
    boost::json::object o{{"departments", result.departments}, {"staff", result.staff},
                          {"customers", result.customers},     {"requests", result.requests},
                          {"feedback", result.feedback},       {"assets", result.assets}};
    audit::record(tx, audit::Actor{.org_id = kOrg},
                  {.action = "demo.load",
                   .object_type = "organization",
                   .object_id = std::to_string(kOrg),
                   .changes = boost::json::serialize(o)},
                  clock.now_ms());
  });
  return result;
}

int add_processes(db::Db& db, workflow::Engine& engine) {
  authz::Principal p;
  p.org_id = kOrg;
  // Saved in the system administrator's name, as if they had drawn them.
  const auto admin = db.read([](db::Tx& tx) {
    return tx.one("SELECT id FROM users WHERE org_id = ? AND admin_role = 'system'", {kOrg});
  });
  if (!admin) return 0;
  p.user_id = db::as_int(admin->at(0));
  p.grants = {{.permission = "workflow:definitions:write", .scope = authz::Scope::all}};
  if (!engine.list_definitions(p).items.empty()) return 0;
  auto graph = [](const std::vector<std::pair<std::string, std::string>>& steps) {
    boost::json::array nodes{boost::json::object{{"id", "start"}, {"kind", "start"}}};
    boost::json::array edges;
    std::string prev = "start";
    int i = 0;
    for (const auto& [name, rule] : steps) {
      const std::string id = "n" + std::to_string(++i);
      nodes.push_back(boost::json::object{{"id", id},
                                          {"kind", "approval"},
                                          {"name", name},
                                          {"approvers", boost::json::parse(rule)}});
      edges.push_back(boost::json::object{{"from", prev}, {"to", id}});
      prev = id;
    }
    nodes.push_back(boost::json::object{{"id", "end"}, {"kind", "end"}});
    edges.push_back(boost::json::object{{"from", prev}, {"to", "end"}});
    return boost::json::serialize(boost::json::object{{"nodes", nodes}, {"edges", edges}});
  };
  const std::string hr = R"([{"rule":"department_kind","kind":"admin_hr"}])";
  const std::string president = R"([{"rule":"department_kind","kind":"president_office"}])";
  const std::string finance = R"([{"rule":"department_kind","kind":"finance"}])";
  const std::string it = R"([{"rule":"department_kind","kind":"it"}])";
  const std::string head = R"([{"rule":"initiator_head"}])";
  const std::vector<workflow::DefinitionInput> defs = {
      {"assets.procurement", "设备采购审批", "assets.procurement",
       "行政人事部审核后报院长办公室审批（IT-1）",
       graph({{"行政人事部审核", hr}, {"院长办公室审批", president}})},
      {"assets.disposal", "设备报废/出售审批", "assets.disposal",
       "按财务管理制度：财务部审核后报院长办公室审批（IT-6）",
       graph({{"财务部审核", finance}, {"院长办公室审批", president}})},
      {"assets.handover", "设备交接审批", "assets.handover",
       "部门负责人确认后由信息管理部审批（IT-2）",
       graph({{"部门负责人确认", head}, {"信息管理部审批", it}})},
  };
  for (const auto& d : defs)
    engine.save_definition(p, audit::Actor{.org_id = kOrg, .user_id = p.user_id}, d);
  return static_cast<int>(defs.size());
}

}  // namespace custos::demo

/*
 * The demo catalogue: service items of the demo city's departments, with
 * the materials, forms and limits a citizen of a Chinese city would
 * recognise.  Seeded with the demo city (portal_demo_seed), in its
 * transaction, only while the catalogue is empty.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/dept.h"
#include "core/log.h"

#include <string.h>

struct demo_item {
	const char *dept;    /* department code */
	struct hall_item_in in;
};

static const struct demo_item items[] = {
	{ "amr",
	  { "amr-qysl", "企业设立登记", 0, "行政许可", "enterprise", 15, 3, 5, 0, "hall.standard",
	    "申请人为拟设立企业的全体股东（发起人）或其委托的代理人\n"
	    "有符合规定的企业名称、住所和经营范围\n"
	    "公司章程符合《中华人民共和国公司法》的规定",
	    "公司登记（备案）申请书 | 必需 | 法定代表人签署；在线填写后电子签名\n"
	    "公司章程 | 必需 | 全体股东签署\n"
	    "股东主体资格证明 | 必需 | 自然人股东提交身份证件，法人股东提交营业执照\n"
	    "法定代表人任职文件及身份证件 | 必需 | 股东会决议或董事会决议\n"
	    "住所使用证明 | 必需 | 房屋产权证明或租赁合同；已在“住所信息库”登记的免于提交\n",
	    "company_name|企业名称|text|必填|50\n"
	    "legal_rep|法定代表人|text|必填|20\n"
	    "legal_rep_id|法定代表人身份证号|idcard|必填\n"
	    "reg_capital|注册资本（万元）|int|必填|100000000\n"
	    "business_scope|经营范围|textarea|必填|2000\n"
	    "address|住所|text|必填|100\n",
	    "", "不收费", "营业执照", "企业开办、市场准入", "开办企业",
	    "《中华人民共和国公司法》第二十九条至第三十三条\n《中华人民共和国市场主体登记管理条例》第十九条",
	    "published" } },
	{ "psb",
	  { "psb-sfzhl", "居民身份证换领", 0, "行政确认", "person", 60, 15, 3, 1, "hall.standard",
	    "居民身份证有效期满或者临近期满（90 日内）\n证件严重损坏，不能辨认\n姓名、出生日期等登记项目发生变更或者有误",
	    "居民户口簿 | 必需 | 原件，窗口核验\n"
	    "原居民身份证 | 必需 | 有效期满或临近期满的原证，换领时收回\n"
	    "数码相片回执 | 可选 | 未提交的在受理窗口现场采集相片和指纹\n",
	    "name|姓名|text|必填|20\n"
	    "id_number|公民身份号码|idcard|必填\n"
	    "reason|换领原因|choice|必填|有效期满/临近期满/证件损坏/登记项目变更\n"
	    "delivery|领取方式|choice|必填|窗口领取/邮寄送达\n"
	    "phone|联系电话|phone|必填\n",
	    "", "工本费 20 元", "居民身份证", "户籍证件", "证件办理",
	    "《中华人民共和国居民身份证法》第十条、第十一条", "published" } },
	{ "mca",
	  { "mca-dbsq", "最低生活保障申请", 0, "行政给付", "person", 30, 20, 4, 0, "hall.standard",
	    "持有本市户籍，与共同生活的家庭成员人均收入低于本市最低生活保障标准\n"
	    "家庭财产状况符合本市有关规定\n"
	    "全体共同生活家庭成员同意民政部门核查家庭经济状况",
	    "最低生活保障申请书 | 必需 | 户主或其委托的家庭成员签字\n"
	    "家庭成员身份证件和户口簿 | 必需 | 可通过信息共享核验的免于提交\n"
	    "家庭收入和财产状况声明 | 必需 | 如实申报家庭成员的收入、存款、房产和车辆\n"
	    "家庭经济状况核对授权书 | 必需 | 全体共同生活家庭成员签署，授权核查存款、车辆等信息\n"
	    "残疾证、病历等证明 | 可选 | 家庭成员患重病或残疾的提交\n",
	    "applicant_name|申请人姓名|text|必填|20\n"
	    "applicant_id|申请人身份证号|idcard|必填\n"
	    "household_size|共同生活家庭成员人数|int|必填|20\n"
	    "monthly_income|家庭月总收入（元）|int|必填|1000000\n"
	    "address|现居住地址|text|必填|100\n"
	    "phone|联系电话|phone|必填\n"
	    "reason|申请理由|textarea|必填|1000\n",
	    "inspection | 入户调查 | 不计时\n", "不收费", "最低生活保障金领取证", "社会救助", "困难救助",
	    "《社会救助暂行办法》第九条至第十四条\n《最低生活保障审核确认办法》", "published" } },
	{ "mca",
	  { "mca-jhdj", "结婚登记", 0, "行政确认", "person", 1, 1, 2, 1, "hall.simple",
	    "男女双方完全自愿\n男方年满二十二周岁，女方年满二十周岁\n"
	    "双方均无配偶，且不属于法律禁止结婚的情形\n双方亲自到婚姻登记机关办理",
	    "本人的户口簿、身份证 | 必需 | 双方各自提交原件\n"
	    "无配偶及无禁止结婚亲属关系的签字声明 | 必需 | 在婚姻登记处现场签署\n"
	    "近期半身免冠合影照片 | 必需 | 2 张 2 寸红底照片，可现场拍摄\n",
	    "man_name|男方姓名|text|必填|20\n"
	    "man_id|男方身份证号|idcard|必填\n"
	    "woman_name|女方姓名|text|必填|20\n"
	    "woman_id|女方身份证号|idcard|必填\n"
	    "appt_date|预约登记日期|date|必填\n"
	    "phone|联系电话|phone|必填\n",
	    "", "不收费", "结婚证", "婚姻登记", "结婚",
	    "《中华人民共和国民法典》第一千零四十六条至第一千零四十九条\n《婚姻登记条例》第四条、第五条",
	    "published" } },
	{ "hrss",
	  { "hrss-syj", "失业保险金申领", 0, "行政给付", "person", 10, 5, 5, 0, "hall.standard",
	    "失业前用人单位和本人已经缴纳失业保险费满一年\n非因本人意愿中断就业\n已经进行失业登记，并有求职要求",
	    "本人身份证件 | 必需 | 线上申领经实名认证后免于提交\n"
	    "终止或解除劳动关系的证明 | 可选 | 能通过信息共享获取的免于提交\n",
	    "name|姓名|text|必填|20\n"
	    "id_number|身份证号|idcard|必填\n"
	    "last_employer|原参保单位名称|text|必填|100\n"
	    "separation_date|离职日期|date|必填\n"
	    "bank_account|社会保障卡金融账户|text|必填|30\n"
	    "phone|手机号|phone|必填\n",
	    "", "不收费", "失业保险待遇核定通知", "社会保障、就业创业", "失业",
	    "《中华人民共和国社会保险法》第四十五条\n《失业保险条例》第十四条、第十六条", "published" } },
	{ "housing",
	  { "housing-sgxk", "建筑工程施工许可", 0, "行政许可", "enterprise", 7, 5, 4, 0, "hall.standard",
	    "已经办理该建筑工程用地批准手续\n依法应当办理建设工程规划许可证的，已经取得规划许可证\n"
	    "已经确定施工企业，有满足施工需要的资金安排、施工图纸及技术资料\n有保证工程质量和安全的具体措施",
	    "建筑工程施工许可证申请表 | 必需 | 建设单位盖章\n"
	    "建设工程规划许可证 | 必需 | 城镇规划区内的工程\n"
	    "中标通知书及施工合同 | 必需 | 依法必须招标的工程提交中标通知书\n"
	    "施工图设计文件审查合格书 | 必需\n"
	    "建设资金已经落实承诺书 | 必需 | 建设单位法定代表人签署\n"
	    "工程质量安全监督手续 | 必需\n",
	    "project_name|工程名称|text|必填|100\n"
	    "project_address|建设地址|text|必填|100\n"
	    "builder_uscc|建设单位统一社会信用代码|uscc|必填\n"
	    "contractor|施工单位名称|text|必填|100\n"
	    "contract_price|合同价格（万元）|int|必填|10000000\n"
	    "floor_area|建筑面积（平方米）|int|必填|10000000\n"
	    "start_date|计划开工日期|date|必填\n",
	    "expert_review | 专家评审 | 不计时\nhearing | 听证 | 不计时\n", "不收费",
	    "建筑工程施工许可证（电子证照）", "工程建设", "项目建设",
	    "《中华人民共和国建筑法》第七条、第八条\n《建筑工程施工许可管理办法》", "published" } },
	{ "tax",
	  { "tax-fply", "发票领用", 0, "行政确认", "enterprise", 1, 1, 5, 0, "hall.simple",
	    "已办理税务登记（信息确认）的纳税人\n已完成发票票种核定",
	    "经办人身份证件 | 必需 | 实名认证后免于提交\n",
	    "uscc|纳税人识别号（统一社会信用代码）|uscc|必填\n"
	    "invoice_kind|发票种类|choice|必填|增值税专用发票/增值税普通发票/数电发票\n"
	    "quantity|领用数量（份）|int|必填|1000\n"
	    "delivery|领取方式|choice|必填|邮寄送达/数电发票无需领取\n",
	    "", "不收费", "发票", "税费办理", "企业经营", "《中华人民共和国发票管理办法》第十五条",
	    "published" } },
	{ "edu",
	  { "edu-ywrx", "义务教育入学登记", 0, "公共服务", "person", 20, 10, 3, 1, "hall.standard",
	    "当年 8 月 31 日前年满 6 周岁的适龄儿童（小学），或当年小学毕业生（初中）\n"
	    "儿童或其监护人在本市有户籍，或持有本市有效居住证",
	    "适龄儿童户口簿 | 必需 | 原件，现场核验\n"
	    "监护人身份证件 | 必需\n"
	    "房屋产权证明或租赁合同 | 必需 | 证明在学区内实际居住\n"
	    "居住证 | 可选 | 非本市户籍儿童的监护人提交\n",
	    "child_name|儿童姓名|text|必填|20\n"
	    "child_id|儿童身份证号|idcard|必填\n"
	    "stage|入学阶段|choice|必填|小学一年级/初中一年级\n"
	    "guardian_name|监护人姓名|text|必填|20\n"
	    "guardian_phone|监护人手机号|phone|必填\n"
	    "address|实际居住地址|text|必填|100\n",
	    "", "不收费", "入学通知书", "教育", "入学",
	    "《中华人民共和国义务教育法》第十一条、第十二条", "published" } },
	{ "health",
	  { "health-ylzy", "医疗机构执业登记", 0, "行政许可", "enterprise", 45, 20, 3, 1, "hall.standard",
	    "已取得设置医疗机构批准书（按规定免于设置审批的除外）\n"
	    "符合医疗机构基本标准，有相应的房屋、设备和卫生技术人员\n能够独立承担民事责任",
	    "医疗机构执业登记申请书 | 必需\n"
	    "设置医疗机构批准书 | 必需 | 按规定免于设置审批的除外\n"
	    "医疗机构用房产权证明或使用证明 | 必需\n"
	    "医疗机构建筑设计平面图 | 必需\n"
	    "验资证明、资产评估报告 | 必需\n"
	    "医疗机构规章制度 | 必需\n"
	    "主要负责人及科室负责人名录和资格证书、执业证书 | 必需 | 复印件加盖公章\n",
	    "inst_name|医疗机构名称|text|必填|100\n"
	    "inst_kind|医疗机构类别|choice|必填|综合医院/专科医院/门诊部/诊所/社区卫生服务中心\n"
	    "address|执业地址|text|必填|100\n"
	    "beds|床位数|int|选填|5000\n"
	    "subjects|诊疗科目|textarea|必填|1000\n"
	    "principal|主要负责人|text|必填|20\n"
	    "principal_id|主要负责人身份证号|idcard|必填\n",
	    "inspection | 现场审核 | 不计时\n", "不收费", "医疗机构执业许可证", "医疗卫生", "开办企业",
	    "《医疗机构管理条例》第十五条至第十七条\n《医疗机构管理条例实施细则》", "published" } },
	/* A draft: visible to 市场监督管理局's admins only. */
	{ "amr",
	  { "amr-spjy", "食品经营许可", 0, "行政许可", "enterprise", 20, 10, 4, 0, "hall.standard",
	    "有与经营的食品品种、数量相适应的经营场所和设备\n有专职或兼职的食品安全管理人员和规章制度",
	    "食品经营许可申请书 | 必需\n营业执照 | 必需 | 可通过信息共享核验的免于提交\n"
	    "经营场所平面图和设备布局图 | 必需\n食品安全规章制度 | 必需\n",
	    "shop_name|经营者名称|text|必填|100\naddress|经营场所|text|必填|100\n"
	    "main_kind|主体业态|choice|必填|食品销售经营者/餐饮服务经营者/单位食堂\n",
	    "inspection | 现场核查 | 不计时\n", "不收费", "食品经营许可证", "企业开办、市场准入", "开办企业",
	    "《中华人民共和国食品安全法》第三十五条\n《食品经营许可和备案管理办法》", "draft" } },
};

int hall_demo_seed(struct store *st)
{
	int64_t n = 0;
	if (store_query_int(st, "SELECT COUNT(*) FROM hall_items", NULL, 0, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0;
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		struct hall_item_in in = items[i].in;
		int64_t id = 0;
		enum msg_id why;
		struct item_err e;
		if (dept_find_code(st, items[i].dept, &in.dept_id) != 0) {
			log_error("demo: hall item %s: no department %s", in.code, items[i].dept);
			return -1;
		}
		if (hall_item_store(st, 0, &in, NULL, &id, &why, &e) != 0) {
			log_error("demo: hall item %s: %s %s %s", in.code, msg(why), e.field ? e.field : "", e.reason);
			return -1;
		}
	}
	if (hall_demo_appoint(st) != 0)   /* demo_appoint.c: windows, slot templates, bookings */
		return -1;
	return hall_demo_cases(st) != 0 ? -1 : hall_demo_ratings(st);   /* demo_cases.c, demo_ratings.c */
}

"""The report's words in Chinese and English: headings, class, method, quantity and level names,
table headers and the badge explanations. One dict per kind, ``{key: (zh, en)}``; :func:`tr`
looks a key up and falls back to the key itself (a class or method the dict does not know is
shown by its identifier, never dropped)."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("生态系统碳汇核算报告", "Ecosystem carbon-sink accounting report"),
    "run": ("运行", "Run"),
    "created": ("生成时间", "Created"),
    "config_hash": ("配置哈希", "Config hash"),
    "other_language": ("English version", "中文版"),
    "contents": ("目录", "Contents"),
    "headline": ("主要结果", "Headline figures"),
    "headline_note": ("括号内为95%置信区间。正值为净吸收（碳汇），负值为净排放（碳源）。",
                      "Brackets: 95 % interval. Positive = net removal (sink), negative = net emission (source)."),
    "province_stock": ("碳储量", "Carbon stock"),
    "net_sink_by_method": ("净碳汇（按方法）", "Net sink by method"),
    "forest_vs_inventory": ("森林碳汇与清查数据对比", "Forest sink against the inventory"),
    "run_value": ("本次核算", "This run"),
    "reference": ("公开数据", "Published"),
    "maps": ("地图", "Maps"),
    "charts": ("图表", "Charts"),
    "zone_tables": ("分区统计表", "Zone tables"),
    "inventory": ("与森林资源清查对比", "Comparison with the forest inventory"),
    "flags": ("标记说明", "What the badges mean"),
    "provenance": ("数据来源与可追溯性", "Provenance"),
    "resolved_config": ("解析后的配置（run_config.yaml）", "Resolved config (run_config.yaml)"),
    "inputs": ("输入文件及SHA-256校验值", "Input files with SHA-256 checksums"),
    "packages": ("软件包版本", "Package versions"),
    "file": ("文件", "File"),
    "size": ("大小（字节）", "Size (bytes)"),
    "package": ("软件包", "Package"),
    "version": ("版本", "Version"),
    "stock_map": ("碳储量", "Carbon stock"),
    "sink_map": ("净碳汇", "Net sink"),
    "sd_map": ("标准差（不确定性）", "Standard deviation (uncertainty)"),
    "stock_by_ecosystem": ("各生态系统碳储量随时间变化", "Carbon stock by ecosystem over time"),
    "sink_ranked": ("各区县净碳汇排序（95%区间）", "Net sink by zone, ranked (95 % interval)"),
    "transitions": ("土地覆被转移矩阵", "Land-cover transition matrix"),
    "from_class": ("起始类型", "from"),
    "to_class": ("目标类型", "to"),
    "method_parts": ("方法对比：净碳汇分项", "Method comparison: parts of the net sink"),
    "attribution": ("不确定性来源", "Uncertainty attribution"),
    "variance_share": ("方差贡献比例", "share of variance"),
    "zone": ("分区", "Zone"),
    "zone_id": ("编码", "Id"),
    "figure": ("指标", "Figure"),
    "quantity": ("量", "Quantity"),
    "method": ("方法", "Method"),
    "years": ("年份", "Years"),
    "unit": ("单位", "Unit"),
    "verdict": ("结论", "Verdict"),
    "status": ("状态", "Status"),
    "source": ("来源", "Source"),
    "ratio": ("比值", "Ratio"),
    "north": ("北", "N"),
    "km": ("公里", "km"),
    "no_data": ("（本次运行未生成）", "(not made by this run)"),
    "flag_where": ("出处", "Where"),
    "flag_text": ("说明", "Note"),
    "touches": ("涉及", "touches"),
    "stock_unit": ("百万吨碳（Mt C）", "Mt C"),
    "sink_unit": ("百万吨二氧化碳/年（Mt CO2/yr）", "Mt CO2 yr-1"),
    "interval": ("95%区间", "95 % interval"),
    "ecosystem": ("生态系统", "Ecosystem"),
}

ECOSYSTEM: dict[str, tuple[str, str]] = {
    "forest": ("森林", "forest"), "shrub": ("灌木林", "shrub"), "grassland": ("草地", "grassland"),
    "wetland": ("湿地", "wetland"), "water": ("水域", "water"), "cropland": ("耕地", "cropland"),
    "cropland_paddy": ("水田", "paddy cropland"), "cropland_upland": ("旱地", "upland cropland"),
    "cropland_perennial": ("园地", "perennial cropland"), "settlement": ("建设用地", "settlement"),
    "other": ("其他", "other"), "lake_open_water": ("湖泊开阔水面", "lake open water"),
    "all": ("合计", "all"),
}

METHOD: dict[str, tuple[str, str]] = {
    "stock_difference": ("储量差法", "stock difference"),
    "land_use_change": ("土地利用变化分量", "land-use-change component"),
    "gain_loss": ("增减法", "gain-loss"),
    "biomass_map": ("遥感生物量法", "remote-sensing biomass map"),
    "forest_inventory": ("森林资源清查", "forest inventory"),
    "gain_loss_forest": ("增减法（森林）", "gain-loss (forest)"),
    "difference": ("增减法减土地利用变化分量", "gain-loss minus land-use change"),
}

QUANTITY: dict[str, tuple[str, str]] = {
    "carbon_stock": ("碳储量", "carbon stock"), "net_sink": ("净碳汇", "net sink"),
    "area": ("面积", "area"), "gross_removals": ("总吸收", "gross removals"),
    "gross_emissions": ("总排放", "gross emissions"),
    "net_sink_remaining": ("保持地类的生长", "growth of land remaining"),
    "net_sink_harvest": ("采伐", "harvest"), "net_sink_conversion": ("地类转换", "conversions"),
    "net_sink_soil": ("土壤", "soils"), "ch4_emissions_co2e": ("甲烷（CO2当量）", "CH4 (CO2e)"),
    "forest_area": ("森林面积", "forest area"), "forest_cover": ("森林覆盖率", "forest cover"),
    "forest_land_area": ("林业用地面积", "forest land area"),
    "forest_biomass_carbon": ("森林生物量碳", "forest biomass carbon"),
    "forest_carbon_density": ("森林碳密度", "forest carbon density"),
    "forest_net_sink": ("森林净碳汇", "forest net sink"),
    "sink_potential": ("碳汇潜力", "sink potential"),
}

LEVEL: dict[str, tuple[str, str]] = {
    "province": ("省", "province"), "city": ("市", "city"), "county": ("县（区）", "county"),
    "lake": ("湖泊", "lake"), "basin": ("流域", "basin"), "township": ("乡镇", "township"),
    "region": ("全区", "region"),
}

FLAG: dict[str, tuple[str, str]] = {  # badge kind -> (zh, en) explanation
    "SCENARIO": ("情景：该结果依赖于模拟的未来土地覆被或情景假设，不是观测值。",
                 "A scenario: the figure rests on simulated land cover or a scenario assumption, not on observations."),
    "SYNTHETIC": ("合成数据：输入为程序生成的示例数据（如模拟样地或影像），仅用于演示。",
                  "Synthetic: an input was generated (simulated plots, images or sub-compartments); for demonstration only."),
    "UNCONFIRMED": ("未确认：引用的数值尚未与原始文献核对。",
                    "Unconfirmed: a cited figure has not been checked against its source."),
    "ASSUMPTION": ("假设：输入中含有未经本地数据核实的假设值或替代数据。",
                   "An assumption: an input holds a value or stand-in not checked against local data."),
}
FLAG_NAME: dict[str, tuple[str, str]] = {
    "SCENARIO": ("情景", "SCENARIO"), "SYNTHETIC": ("合成", "SYNTHETIC"),
    "UNCONFIRMED": ("未确认", "UNCONFIRMED"), "ASSUMPTION": ("假设", "ASSUMPTION"),
}

TABLES = {"text": TEXT, "ecosystem": ECOSYSTEM, "method": METHOD, "quantity": QUANTITY,
          "level": LEVEL, "flag": FLAG, "flag_name": FLAG_NAME}


def tr(lang: str, kind: str, key: str) -> str:
    """The word for ``key`` of a kind (text, ecosystem, method, quantity, level, flag) in
    ``lang``; unknown keys come back as they are (methods: ``potential_<scenario>`` as the
    sink potential of that scenario)."""
    table = TABLES[kind]
    if key in table:
        return table[key][LANGUAGES.index(lang)]
    if kind == "method" and str(key).startswith("potential_"):
        return f"{tr(lang, 'quantity', 'sink_potential')} ({str(key)[len('potential_'):]})"
    return str(key)

/**
 * Characters real text is mostly made of, per language: the evidence that a
 * clean legacy reading is that language and not another one's bytes.
 *
 * EUC-KR, GBK, Big5 and EUC-JP share their byte ranges: Korean syllables
 * read as GB2312 are hanzi, Japanese kanji read as EUC-KR are Hangul. Such a
 * misreading picks characters from the tables without regard to how often
 * they are used (佐藤 in EUC-JP is 좌 and 턱 in EUC-KR), while real text is
 * mostly made of a few hundred frequent characters: the most frequent
 * syllables of Korean, the most frequent hanzi of Chinese (and the surnames,
 * given-name characters and address words of a buyers sheet). A reading
 * whose characters are mostly rare is not that language.
 *
 * The lists are evidence, not a dictionary: a character missing from them
 * only makes a file less likely to be detected (it is then refused, and the
 * operator names the encoding), never misread.
 */

const set = (s: string) => new Set(Array.from(s.replace(/\s+/g, '')));

/** Frequent Hangul syllables: particles and endings, common words, surnames, given names, addresses, real estate. */
export const COMMON_HANGUL = set(`
  이다는에가하고의을를지기리사서나로자대도한아어시인정수구게여니주보해전만라부상들일제성동경우비소원세과장문마스거면국오요신있
  중것미유화학실연적조관개위교선물공강방체생산무민발분재특별광역남북천안양평파트근처망차예담울길번호층빌피텔매세월증금희네조용
  김박최윤임오권황송류홍고문양손배백허심노곽차진엄채천현함변염추석설마연표명반왕옥육맹탁어편
  준훈은영혜철욱승환규근솔린빈태현호경미희재원석동상용순숙자옥춘순덕애란향
  없었습니까요세요합니다입니다있는하는되는그저것들때문에대한위해통해까지부터에서으로에게한테께서도만
  요청연락전화확인가능필요원함좋음좋아요문의방문계약예정완료취소보류신규상담중내견완료
  아파트빌라주택단독상가토지오피스텔원룸투룸쓰리룸전세월세매매보증금관리비주차역세권학군신축구축
  서울부산대구인천광주대전울산세종경기강원충북충남전북전남경북경남제주특별시광역시도군구읍면동리로길
  강남서초송파마포용산성동광진동대문중랑성북강북도봉노원은평서대문양천강서구로금천영등포동작관악
  해운대수영연제사하금정기장분당일산수원용인성남고양안양부천화성평택
`);

/** Frequent simplified hanzi: the most used characters, surnames, given-name characters, addresses, real estate. */
export const COMMON_HANZI_SIMPLIFIED = set(`
  的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然
  作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知已部点样现实问工些最新但长种关情意动外体
  王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范
  金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤
  伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚华英玲桂兰红梅志建国文辉鹏飞宇浩婷雪琳晶欣怡佳慧俊峰波斌宁颖燕丹萍鑫
  省市区县镇乡村路街道号楼室栋单元小期北京上海广州深圳天津重庆南杭成武西苏州朝阳浦东海淀新希望靠近地铁站安静预算限学房两
  三四五六七八九百千万元室厅卫装修电梯停车位价格首付贷款租售买卖联系电话先生女士已未定看约签合同意向客户来源网络介绍
`);

/** Frequent traditional hanzi: the most used characters, surnames, given-name characters, addresses, real estate. */
export const COMMON_HANZI_TRADITIONAL = set(`
  的一是不了人我在有他這為之大來以個中上們到說國和地也子時道出而要於就下得可你年生自會那後能對著事其裡所去行過家十用發天如然
  作方成者多日都三小軍二無同麼經法當起與好看學進種將還分此心前面又定見只主沒公從知已部點樣現實問工些最新但長關情意動外體
  陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余趙盧梁顏柯孫魏翁戴范宋方鄧杜傅侯曹薛丁
  志明淑芬建國家豪怡君偉婷雅宏俊美玲惠華文雄榮仁德秀英珍慧儀佳欣宇翔傑哲瑋庭
  台臺北市高雄區路號段巷弄樓新竹桃園中正信義大安松山內湖士林板橋新莊三重中和永和縣鄉鎮村里街希望靠近捷運站安靜預算限學房兩
  四五六七八九百千萬元室廳衛裝修電梯停車位價格首付貸款租售買賣聯絡話先生女士已未約簽合同意向客戶來源網介紹
`);

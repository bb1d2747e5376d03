"""Expected values for every sample of ../shared/siprec-corpus, written by hand from the files.

Each entry was read off the sample itself (not produced by the parser). Samples' sources, as the
corpus README asks:
- from drachtio/drachtio-siprec-recording-server test/data/ (MIT): oracle_1, oracle_2, cisco_1,
  cisco_2, broadworks_1, avaya_sbce_1, ribbon_1, opensips_1, sems_1, intrado_1
- from E-C-Group/drachtio-siprec-recording-server test/data/ (MIT): oracle_3, broadworks_2..4
- from carbyne911/drachtio-siprec-recording-server test/data/ (MIT): cisco_3
- from Telecatsbv/drachtio-siprec-recording-server test/data/ (MIT): audiocodes_1, audiocodes_2
- from vorpalnet/blade test/ (MIT): oracle_4, oracle_5, oracle_6
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (aor, name, sends, recvs) per participant, in document order
P = tuple[str, str | None, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Expected:
    format: str
    participants: tuple[P, ...]
    stream_labels: tuple[str, ...]  # <stream> labels in document order
    sdp_labels: tuple[str, ...]  # a=label of each m-line, in SDP order (.txt only)
    participant_ids: tuple[str, ...] = ()
    session_id: str | None = None
    start_time: str | None = None
    sip_session_id: str | None = None
    interaction: tuple[str, str] | None = None
    call_ids: dict[str, str] = field(default_factory=dict)
    extension: dict[str, str] = field(default_factory=dict)
    participant_extension: dict[int, dict[str, str]] = field(default_factory=dict)
    repaired: str | None = None  # "&" or "<" when the XML is not well-formed
    order_fallback: bool = False  # no send associations: labels map by document order
    headers: dict[str, str] = field(default_factory=dict)  # from the .txt SIP message
    txt_call_ids: dict[str, str] = field(default_factory=dict)  # only in the whole .txt


ORACLE_4_URI = (
    "<sip:record=01PEP83ES8B0FC7QD151Q2LAES00022M_2024-04-05_12-59-19@10.173.186.80:5060;"
    "calluuid=01PEP83ES8B0FC7QD151Q2LAES00022M;dn=6325883654;otherdn=1992999001;ani=6325883654;"
    "connid=02c203701171b854;datetime=2024-04-05T12:59:19Z;dnis=8663738232;"
    "gvp-tenant-id=[Environment].record;recorddn=6325883654;sipsappname=cl2-sips-CTC_1a;"
    "media-id=01PEP83ES8B0FC7QD151Q2LAES00022M>"
)

EXPECTED: dict[str, Expected | str] = {
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "oracle_1": Expected(
        format="draft",
        participants=(
            ("sip:9000@192.168.50.102", "9000", ("16777227",), ()),
            ("sip:1002@192.168.50.10", "1002", ("16777228",), ()),
        ),
        stream_labels=("16777227", "16777228"),
        sdp_labels=("16777227", "16777228"),
        participant_ids=("fSD3PFErSjNTHLDiXCELjw==", "EbccNyypRlFYXTm4iw8hxw=="),
        session_id="AavRXwIIQj1Q39eJulTipQ==",
        start_time="2019-03-09T16:50:20",
        participant_extension={0: {"callingParty": "true"}, 1: {"callingParty": "false"}},
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "oracle_2": Expected(
        format="draft",
        participants=(
            ("sip:31624895902@10.10.128.62", "31624895902", ("201835599",), ()),
            ("sip:33187164021@sip.webhelpgroupe.lan", "33187164021", ("201835600",), ()),
        ),
        stream_labels=("201835599", "201835600"),
        sdp_labels=("201835599", "201835600"),
        session_id="0rBXFi0CTBB0j8HyGBBrlg==",
        start_time="2020-03-27T13:56:05",
        call_ids={
            "avaya_ucid": "00FA081003B9CF5E7DF7E5",
            "oracle_call_id": "134485702_44821128@10.10.128.62",
        },
        extension={"ucid": "00FA081003B9CF5E7DF7E5;encoding=hex", "callerOrig": "true"},
        participant_extension={
            0: {
                "callingParty": "true",
                "request-uri": "sip:33187164021@10.77.91.46:5060",
                "realm": "Avaya-GR-REC",
                "header:Call-ID": "134485702_44821128@10.10.128.62",
            }
        },
    ),
    # from E-C-Group/drachtio-siprec-recording-server test/data/ (MIT)
    "oracle_3": Expected(
        format="draft",
        participants=(
            ("sip:22938884455@216.128.192.36", "ECG Tester", ("33675086",), ()),
            ("sip:+12298558585@216.128.192.137", "+12298558585", ("33675087",), ()),
        ),
        stream_labels=("33675086", "33675087"),
        sdp_labels=("33675086", "33675087"),
        participant_ids=("9zwvqYRmQKlJmBGRkZApOw==", "+AVUYgpTSQlpIhZ+ZUwerQ=="),
    ),
    # from vorpalnet/blade test/ (MIT)
    "oracle_4": Expected(
        format="draft",
        participants=(
            ("sip:Genesys@10.28.70.121", "Genesys", ("1006644281", "1006644283"), ()),
            (
                "sip:record=01PEP83ES8B0FC7QD151Q2LAES00022M_2024-04-05_12-59-19@127.0.0.1",
                "record=01PEP83ES8B0FC7QD151Q2LAES00022M_2024-04-05_12-59-19",
                ("1006644282", "1006644284"),
                (),
            ),
        ),
        stream_labels=("1006644281", "1006644283", "1006644282", "1006644284"),
        sdp_labels=("1006644281", "1006644282", "1006644283", "1006644284"),
        session_id="Vu4qFY9ESUlyq9aGK4UvmA==",
        interaction=("01PEP83ES8B0FC7QD151Q2LAES00022M", "request-uri:calluuid"),
        call_ids={
            "sip_call_id": "13b4b541dc1b6078eaaa4ab84f52d094040@10.178.60.190",
            "cisco_gucid": "00071136261712321959",
            # User-to-User 04 | FA 08 0047353A660FF5A7 | C8 14 ... (Avaya UCID TLV, by hand)
            "uui_ucid": "0047353A660FF5A7",
            "avaya_ucid": "00473539660FF5A7",
            "oracle_call_id": (
                "wlss-9df06dac-AC565000-947B-5BFE-1ECF-88D28E4B0995-7094@10.28.70.121"
            ),
            "genesys_call_uuid": "01PEP83ES8B0FC7QD151Q2LAES00022M",
        },
        participant_extension={0: {"request-uri": ORACLE_4_URI, "realm": "OMNI_MH_Ingress"}},
        repaired="<",
        headers={"Require": "siprec", "Cisco-Gucid": "00071136261712321959"},
    ),
    # from vorpalnet/blade test/ (MIT)
    "oracle_5": Expected(
        format="draft",
        participants=(
            ("sip:Genesys@10.29.199.68", "Genesys", ("268749245", "268749247"), ()),
            (
                "sip:record=00U2QRJBLKAF3CCSEDB1Q2LAES0188NT_2023-10-24_15-53-28@127.0.0.1",
                "record=00U2QRJBLKAF3CCSEDB1Q2LAES0188NT_2023-10-24_15-53-28",
                ("268749246", "268749248"),
                (),
            ),
        ),
        stream_labels=("268749245", "268749247", "268749246", "268749248"),
        sdp_labels=("268749245", "268749246", "268749247", "268749248"),
        participant_ids=("jQysQaOQQKN+GPqD9ucaNw==", "UaWEAnypTXljTotoD5TX5w=="),
        interaction=("00U2QRJBLKAF3CCSEDB1Q2LAES0188NT", "request-uri:calluuid"),
        call_ids={
            "cisco_gucid": "00144536801698162784",
            "uui_ucid": "0090D1B06537E860",
            "avaya_ucid": "0090D1AD6537E860",
            "oracle_call_id": (
                "wlss-51879a67-9C565000-8D9C-2A83-9619-EA8320AF242A-7090@10.29.199.68"
            ),
        },
        repaired="<",
    ),
    # from vorpalnet/blade test/ (MIT)
    "oracle_6": Expected(
        format="draft",
        participants=(
            ("sip:+19195184357@vzb.int", "+19195184357", ("739440565",), ()),
            ("sip:+18442820485@uhc.com", "+18442820485", ("739440566",), ()),
        ),
        stream_labels=("739440565", "739440566"),
        sdp_labels=("739440565", "739440566"),
        call_ids={
            "oracle_call_id": "wlss-64071c05-73fde93a6638f450@152.190.6.22",
            "avaya_ucid": "004762BD69FA4805",
        },
        headers={"X-Acme-Call-ID": "wlss-64071c05-73fde93a6638f450@152.190.6.22"},
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "cisco_1": Expected(
        format="rfc7865",
        participants=(
            ("sip:7301@35.162.237.204", None, ("1",), ("2",)),
            ("sip:7300@35.162.237.204", "7300", ("2",), ("1",)),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        participant_ids=("kQNhKFdEEeeJ99D/VsPGWA==", "kQNhKFdEEeeJ+ND/VsPGWA=="),
        session_id="kQNhKFdEEeeJ9tD/VsPGWA==",
        start_time="2017-06-23T12:16:06.040Z",
        sip_session_id="e9fffff2020a598b86962867715db0cf;remote=cd0f7093d62c5f0697098fd69a4aa57b",
        # the application/gtd part of cisco_1.txt: "GCI,91036128574411e789f9d0ff56c3c658"
        txt_call_ids={"cisco_guid": "91036128574411e789f9d0ff56c3c658"},
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "cisco_2": Expected(
        format="rfc7865",
        participants=(
            ("sip:0733165805@192.168.40.34", None, (), ()),
            ("sip:+972546136443@192.168.10.140", None, (), ()),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        sip_session_id="f845891467cf5c2189987435807bd432;remote=1aa1123b8825c906d03681ba23102629",
        order_fallback=True,
    ),
    # from carbyne911/drachtio-siprec-recording-server test/data/ (MIT)
    "cisco_3": Expected(
        format="rfc7865",
        participants=(
            ("sip:17203032570@us-gov-west-1-ingress-internal-2", None, ("1",), ("2",)),
            ("sip:+17209132000@216.82.227.122", "DENVER CITY&CNT", ("2",), ("1",)),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        start_time="2026-09-27T16:39:57.024Z",
        repaired="&",
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT): tags stripped
    "broadworks_1": "no child elements",
    # from E-C-Group/drachtio-siprec-recording-server test/data/ (MIT)
    "broadworks_2": Expected(
        format="broadworks",
        participants=(
            ("sip:user1001@example.test", None, ("1",), ()),
            ("sip:15550001002@192.0.2.10;user=phone", None, ("2",), ()),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        participant_ids=(
            "urn:uuid:047d88e2-0f0f-494c-b39a-5948e376bb16",
            "urn:uuid:de0effa8-8380-4743-9dbe-ddfdd336527a",
        ),
        session_id="urn:uuid:7ee4c89f-31d9-41e1-b6f1-8018b79b03d7",
        start_time="2026-04-09T21:10:49+00:00",
        call_ids={
            "broadworks_ext_tracking_id": "c090d92e-7173-4d8d-848c-db7f0f3ab46e",
            "broadworks_call_id": "callhalf-95876388553:0",
        },
        extension={"userID": "user1001@example.test", "recordingType": "on"},
    ),
    # from E-C-Group/drachtio-siprec-recording-server test/data/ (MIT)
    "broadworks_3": Expected(
        format="broadworks",
        participants=(
            ("sip:user1001@example.test", None, ("1",), ()),
            ("sip:+15550001002@192.0.2.10;user=phone", None, ("2",), ()),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        start_time="2026-04-14T14:02:50-04:00",
        call_ids={
            "broadworks_ext_tracking_id": "2034:2",
            "broadworks_call_id": "callhalf-5551587:0",
        },
    ),
    # from E-C-Group/drachtio-siprec-recording-server test/data/ (MIT)
    "broadworks_4": Expected(
        format="broadworks",
        participants=(
            ("sip:fred@vwave.net", None, ("1",), ()),
            ("sip:+12295556666@vwave.net", None, ("2",), ()),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        call_ids={
            "broadworks_ext_tracking_id": "9999:1",
            "broadworks_call_id": "callhalf-9999999:0",
        },
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "avaya_sbce_1": Expected(
        format="rfc7865",
        participants=(
            ("sip:9878942259@212.188.68.145", None, ("10",), ()),
            ("sip:ASBCE@asbce.com", None, ("20",), ()),
        ),
        stream_labels=("10", "20"),
        sdp_labels=("10", "20"),
        participant_ids=("9a2de728ba0bc348db1e", "abcdef12345678901234"),
        session_id="00FA0800705D4C5DCAAC41",
        start_time="2019-11-12T15:57:37",
        call_ids={"avaya_ucid": "00FA0800705D4C5DCAAC41"},
    ),
    # from Telecatsbv/drachtio-siprec-recording-server test/data/ (MIT)
    "audiocodes_1": Expected(
        format="draft",
        participants=(
            ("+31534889935@ims.imscore.net", None, ("1",), ("2",)),
            ("+31886601071@199.103.12.213", None, ("2",), ("1",)),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        participant_ids=("+31534889935", "+31886601071"),
        session_id="0000-0000-0000-0000-b93dc1ceff1d1459",
        start_time="2021-03-01T09:40:12",
        call_ids={"avaya_ucid": "YMMYTHBSHLHTEKNKJU4OIGEYBREHSHH3BJS3"},
        extension={"AvayaUCID": "YMMYTHBSHLHTEKNKJU4OIGEYBREHSHH3BJS3"},
    ),
    # from Telecatsbv/drachtio-siprec-recording-server test/data/ (MIT)
    "audiocodes_2": Expected(
        format="draft",
        participants=(
            ("+31534889935@so-kpn.com", None, ("1",), ("2",)),
            ("+31886601019@199.103.12.213", None, ("2",), ("1",)),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        call_ids={"avaya_ucid": "F8151A60-32DE-4862-B728-AFAB4AA90E92"},
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "ribbon_1": Expected(
        format="draft",
        participants=(
            ("2249888500@172.16.198.55", "Extension 8500", ("2",), ("1",)),
            ("2249888012@172.16.195.72", None, ("1",), ("2",)),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        session_id="MTQ3YzA3YzEtNjdkNy0xMA==",
        start_time="1970-05-13T03:29:05Z",
        call_ids={
            "ribbon_gcid": "241205267",
            "ribbon_call_id": "2da553f7-a48b-1235-d6a2-5254003a4988",
        },
        extension={
            "fromhdr": '"Extension 8500" <sip:2249888500@172.16.198.55>;tag=SerryvK5ej0jc',
            "tohdr": "<sip:2249888012@172.16.195.72>;tag=gK00801b2d",
        },
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "opensips_1": Expected(
        format="rfc7865",
        participants=(
            ("sip:0771121212@52.57.92.239", "test_user;lang=en-US;id=22", (), ()),
            ("sip:0760516936@sip-cust1.connectel.io", None, (), ()),
        ),
        stream_labels=("1", "2"),
        sdp_labels=("1", "2"),
        sip_session_id="2d8abbf0769c66e15bb349f509693d60@52.57.92.239",
        order_fallback=True,
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "sems_1": Expected(
        format="rfc7865",
        participants=(
            ("sip:016190200@87.252.209.116", "016190200", ("a_leg",), ("b_leg",)),
            (
                "Extension-016190619@speechpath.ie",
                "Speechpath-Main-Line 016190619",
                ("b_leg",),
                ("a_leg",),
            ),
        ),
        stream_labels=("a_leg", "b_leg"),
        sdp_labels=("a_leg", "b_leg"),
        participant_ids=("Ye5S5pU+SAG2JY4oG7M4Cw==", "QDhKextjTa+F1TzXuvHZHw=="),
        start_time="2017-12-11T14:44:23Z",
    ),
    # from drachtio/drachtio-siprec-recording-server test/data/ (MIT)
    "intrado_1": Expected(
        format="rfc7865",
        participants=(("4058327108@10.105.190.136:5060", None, ("1",), ("1",)),),
        stream_labels=("1",),
        sdp_labels=("1",),
        start_time="2022-07-21T12:36:06-06:00",
        call_ids={"sip_call_id": "6c953981285cde0446619ca30087d35a@10.106.2.10:5060"},
        participant_extension={0: {"channel": "SIP/911202-073e", "role": "calling"}},
        headers={"x-Call-Direction": "incoming", "User-Agent": "VIPER"},
    ),
}
